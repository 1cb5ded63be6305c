package io.iris.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PullServerTest {
  @Test
  void aQueryIsReadIntoAMap() {
    assertEquals(Map.of("after", "17", "limit", "100"), PullServer.query("after=17&limit=100"));
    assertEquals(Map.of("limit", "20"), PullServer.query("limit=20"));
    assertEquals(Map.of(), PullServer.query(null));
    assertEquals(Map.of(), PullServer.query("junk"));
  }
}
