package io.iris.bridge.edge;

/**
 * Decides whether an MQTT CONNECT may proceed. Implementations must compare secrets in constant
 * time and must never log the password.
 */
@FunctionalInterface
public interface DeviceAuthenticator {

  /**
   * @param clientId the MQTT client id
   * @param username the MQTT user name, may be {@code null}
   * @param password the MQTT password, may be {@code null}
   * @return whether the connection is allowed
   */
  boolean authenticate(String clientId, String username, byte[] password);
}
