package io.iris.protocol;

/**
 * The MQTT names of the device protocol. A device connects with client id {@code
 * <userId>/<deviceId>} (unique broker-wide even when two users pick the same device id), user name
 * {@code <userId>} and its token as password; it publishes {@code DeviceRequest} frames to its up
 * topic and subscribes to its down topic for {@code ServerFrame}s.
 */
public final class DeviceTopics {
  private DeviceTopics() {}

  /** A device's identity, from its MQTT client id. */
  public record DeviceId(long userId, String deviceId) {
    public String clientId() {
      return userId + "/" + deviceId;
    }

    public String up() {
      return "iris/" + userId + "/" + deviceId + "/up";
    }

    public String down() {
      return "iris/" + userId + "/" + deviceId + "/down";
    }
  }

  /** The device named by a client id, or null when it is not {@code <userId>/<deviceId>}. */
  public static DeviceId parseClientId(String clientId) {
    if (clientId == null) {
      return null;
    }
    int slash = clientId.indexOf('/');
    if (slash <= 0 || slash == clientId.length() - 1 || clientId.indexOf('/', slash + 1) >= 0) {
      return null;
    }
    String device = clientId.substring(slash + 1);
    if (!IdLimits.validDeviceId(device)) {
      return null;
    }
    try {
      long user = Long.parseLong(clientId.substring(0, slash));
      return user > 0 ? new DeviceId(user, device) : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
