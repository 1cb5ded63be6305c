package io.iris.launcher;

import picocli.CommandLine.Command;

@Command(
    name = "device",
    mixinStandardHelpOptions = true,
    description = "Add or revoke a device allowed to connect as a user.",
    subcommands = {DeviceAddCommand.class, DeviceRevokeCommand.class})
final class DeviceCommand {}
