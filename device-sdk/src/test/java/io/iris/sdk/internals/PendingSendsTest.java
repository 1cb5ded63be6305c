package io.iris.sdk.internals;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.SendResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class PendingSendsTest {
  private static final long SECOND = 1_000_000_000L;

  private final PendingSends sends =
      new PendingSends(Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofHours(1));

  private PendingSends.PendingSend send(String clientId, long now) {
    PendingSends.PendingSend p =
        sends.add(
            new DeviceCommand(clientId, 1, CommandBody.sendMessage(new SendMessage("hi"))),
            new CompletableFuture<>(),
            now);
    PendingSends.sent(p, now);
    return p;
  }

  @Test
  void shouldDoubleTheIntervalPerAttemptAndHoldItAtTheLongest() {
    PendingSends.PendingSend p = send("c1", 0);
    List<Long> intervals = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      intervals.add(sends.interval(p) / SECOND);
      PendingSends.sent(p, 0);
    }
    assertEquals(List.of(5L, 10L, 20L, 40L, 60L, 60L, 60L, 60L), intervals);
  }

  @Test
  void shouldNotOverflowAfterManyAttempts() {
    PendingSends.PendingSend p = send("c1", 0);
    p.attempts = Integer.MAX_VALUE;
    assertEquals(60 * SECOND, sends.interval(p));
  }

  @Test
  void shouldWaitTheLongestIntervalFromTheAcceptanceOnceAccepted() {
    PendingSends.PendingSend p = send("c1", 0);
    sends.onSendResult(new SendResult("c1", true), 3 * SECOND);

    assertEquals(List.of(), sends.dueForResend(63 * SECOND));
    assertEquals(List.of(p), sends.dueForResend(63 * SECOND + 1));
    assertEquals(List.of(), sends.toResendOnConnect());
  }

  @Test
  void shouldRefuseALongestIntervalShorterThanTheFirst() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new PendingSends(Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofHours(1)));
  }
}
