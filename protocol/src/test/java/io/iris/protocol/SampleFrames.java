package io.iris.protocol;

import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.NewMessage;
import java.util.List;

/** Valid frames for tests of the codec and of the serdes built on it (protocol's test-jar). */
public final class SampleFrames {
  private SampleFrames() {}

  public static Delta delta() {
    return new Delta(
        42L,
        1001L,
        1_700_000_000_000L,
        DeltaBody.newMessage(new NewMessage(55L, 43L, "hello, world").setClientId("c-1")));
  }

  public static ClientCommand command() {
    return new ClientCommand(
        42L,
        "phone-1",
        "c-1",
        1001L,
        1_700_000_000_000L,
        CommandBody.createThread(new CreateThread(List.of(42L, 43L, 44L)).setName("lunch")));
  }
}
