package io.iris.launcher;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(
    name = "revoke",
    mixinStandardHelpOptions = true,
    description = "Revoke a device: it can no longer connect.")
final class DeviceRevokeCommand implements Callable<Integer> {
  @CommandLine.Mixin DeviceOptions d = new DeviceOptions();

  @Override
  public Integer call() throws Exception {
    try {
      io.iris.bridge.edge.DeviceRegistry.revoke(d.kafka(), d.user, d.device);
      System.out.println("device " + d.user + "/" + d.device + " revoked");
      return 0;
    } catch (StartupException e) {
      System.err.println("iris: " + e.getMessage());
      return IrisCli.EXIT_CONFIG;
    }
  }
}
