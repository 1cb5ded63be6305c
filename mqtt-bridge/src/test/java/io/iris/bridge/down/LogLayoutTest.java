package io.iris.bridge.down;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;

/** A user's partition must be the one Kafka's default partitioner gives its 8-byte key. */
class LogLayoutTest {
  @Test
  void shouldPutAUserWhereKafkasDefaultPartitionerPutsItsKey() {
    LogLayout layout = new LogLayout("AAAAAAAAAAAAAAAAAAAAAQ", 12);
    for (long user : new long[] {1, 42, 1_000_000_000_006L, Long.MAX_VALUE - 1}) {
      byte[] key = new LongSerializer().serialize("iris.log", user);
      int expected = Utils.toPositive(Utils.murmur2(key)) % 12;
      assertEquals(expected, layout.partitionOf(user), "user " + user);
      assertEquals(expected, LogLayout.partitionOf(user, 12), "user " + user);
    }
  }

  @Test
  void shouldRefuseALayoutWithoutEpochOrPartitions() {
    assertThrows(IllegalArgumentException.class, () -> new LogLayout("", 12));
    assertThrows(IllegalArgumentException.class, () -> new LogLayout("e", 0));
  }
}
