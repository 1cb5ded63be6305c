package io.iris.sdk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** What other modules rely on without a broker: building, naming, the resume position, closing. */
class IrisDeviceTest {
  private static IrisDevice.Builder builder() {
    return IrisDevice.builder().user(7).device("phone").token("secret");
  }

  @Test
  void shouldNameUserDeviceAndServerButNeverTheTokenInToString() {
    try (IrisDevice d = builder().serverUris("tcp://a:1883", "tcp://b:1883").build()) {
      assertEquals("IrisDevice[7/phone tcp://a:1883]", d.toString());
      // As DeviceSyncIT reads it back.
      assertArrayEquals(
          new String[] {"7", "phone"}, d.toString().replaceAll(".*\\[(\\S+) .*", "$1").split("/"));
    }
  }

  @Test
  void shouldRefuseToBuildWithoutUserDeviceOrToken() {
    assertThrows(IllegalArgumentException.class, () -> builder().user(0).build());
    assertThrows(IllegalArgumentException.class, () -> builder().device(null).build());
    assertThrows(IllegalArgumentException.class, () -> builder().token(null).build());
  }

  @Test
  void shouldRefuseAPositionWithoutItsEpoch() {
    assertThrows(IllegalArgumentException.class, () -> builder().lastPos(null, 41).build());
    assertThrows(IllegalArgumentException.class, () -> builder().lastPos("E", -2).build());
  }

  @Test
  void shouldRefuseAKeepAliveMqttCannotSayADeadTimeOfZeroAndABadUri() {
    assertThrows(
        IllegalArgumentException.class,
        () -> builder().keepAlive(java.time.Duration.ofMillis(999)).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> builder().keepAlive(java.time.Duration.ofSeconds(65_536)).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> builder().deadConnectionAfter(java.time.Duration.ZERO).build());
    assertThrows(IllegalArgumentException.class, () -> builder().serverUri("ws://a:80").build());
    assertThrows(
        IllegalArgumentException.class, () -> builder().serverUris("tcp://a:1", "nohost").build());
  }

  @Test
  void shouldNotConnectOnANetworkChangeBeforeConnectNorAfterClose() {
    IrisDevice d = builder().serverUri("tcp://127.0.0.1:1").build();
    d.networkChanged();
    assertFalse(d.isConnected());
    d.close();
    d.networkChanged(); // dropped quietly
    assertThrows(java.io.IOException.class, () -> d.connect(java.time.Duration.ofSeconds(1)));
  }

  @Test
  void shouldHaveNoPositionWhenNoneIsGiven() {
    try (IrisDevice d = builder().build()) {
      assertEquals(IrisDevice.Position.NONE, d.position());
      assertNull(d.epoch());
      assertEquals(-1, d.lastPos());
    }
  }

  @Test
  void shouldResumeFromTheGivenPositionBeforeConnectingAndAfterClosing() {
    IrisDevice d = builder().lastPos("AAAAAAAAAAAAAAAAAAAAAA", 41).build();
    assertEquals(41, d.lastPos());
    assertEquals("AAAAAAAAAAAAAAAAAAAAAA", d.epoch());
    assertFalse(d.isConnected());
    d.close();
    d.close(); // a second close does nothing
    assertEquals(new IrisDevice.Position("AAAAAAAAAAAAAAAAAAAAAA", 41), d.position());
  }

  @Test
  void shouldRefuseACommandAboveTheFrameLimitWithoutSendingIt() throws Exception {
    try (IrisDevice d = builder().build()) {
      java.util.concurrent.CompletableFuture<io.iris.protocol.thrift.Delta> big =
          d.send(5, "x".repeat(IrisDevice.MAX_FRAME_BYTES));
      java.util.concurrent.ExecutionException e =
          assertThrows(
              java.util.concurrent.ExecutionException.class,
              () -> big.get(5, java.util.concurrent.TimeUnit.SECONDS));
      IrisDevice.RejectedException r = (IrisDevice.RejectedException) e.getCause();
      assertEquals(io.iris.protocol.thrift.ErrorCode.FRAME_TOO_LARGE, r.code());
      assertTrue(r.getMessage().contains("not sent"), r.getMessage());
      // Just within: a frame of exactly the limit is the device's to send.
      String text = "x".repeat(IrisDevice.MAX_FRAME_BYTES - 200);
      int size =
          IrisDevice.frameBytes(
              new io.iris.protocol.thrift.DeviceCommand(
                  java.util.UUID.randomUUID().toString(),
                  5,
                  io.iris.protocol.thrift.CommandBody.sendMessage(
                      new io.iris.protocol.thrift.SendMessage(text))));
      assertTrue(size <= IrisDevice.MAX_FRAME_BYTES, size + " bytes");
    }
  }
}
