package io.iris.launcher;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(
    name = "add",
    mixinStandardHelpOptions = true,
    description =
        "Register a device and print its token, once: the token is not stored anywhere, only its"
            + " salted hash. Adding an existing device replaces its token.")
final class DeviceAddCommand implements Callable<Integer> {
  @CommandLine.Mixin DeviceOptions d = new DeviceOptions();

  @Override
  public Integer call() throws Exception {
    try {
      String token = io.iris.bridge.edge.DeviceRegistry.register(d.kafka(), d.user, d.device);
      var id = new io.iris.protocol.DeviceTopics.DeviceId(d.user, d.device);
      System.out.println(
          "device " + id.clientId() + " added; its token (shown once, keep it on the device):");
      System.out.println(token);
      System.out.println(
          "connect with MQTT client id '"
              + id.clientId()
              + "', user name '"
              + d.user
              + "', the token as password; publish to "
              + id.up()
              + ", subscribe to "
              + id.down());
      return 0;
    } catch (StartupException | IllegalArgumentException e) {
      System.err.println("iris: " + e.getMessage());
      return IrisCli.EXIT_CONFIG;
    }
  }
}
