package io.iris.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.NewMessage;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PayloadSizesTest {
  @Test
  void jsonNamesTheFieldsOfVersion2() {
    Delta d =
        new Delta(7, 9, 1_795_000_000_000L, DeltaBody.newMessage(new NewMessage(3, 8, "hi")))
            .setPos(1_234)
            .setPrevPos(1_100);
    Map<String, Object> j = PayloadSizes.json(d);
    assertEquals(1_234L, j.get("pos"));
    assertEquals(1_100L, j.get("prev_pos"));
    assertTrue(j.keySet().stream().noneMatch(k -> k.contains("seq")), j.keySet().toString());
  }

  @Test
  void measuresEveryEncodingAloneAndInBatches() {
    List<PayloadSizes.Row> rows = PayloadSizes.measure(100, 5);
    assertEquals(3, rows.size());
    for (PayloadSizes.Row r : rows) {
      assertTrue(r.perDelta() > 0 && r.perBatch10() > r.perDelta(), r.toString());
    }
    assertTrue(rows.get(0).perDelta() < rows.get(2).perDelta(), "compact below JSON");
  }
}
