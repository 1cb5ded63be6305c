package io.iris.cluster;

import io.iris.cluster.Topology.Host;
import io.iris.cluster.Topology.Role;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The cluster's secrets and, when secured, its TLS and SASL settings. Secrets live in {@code
 * <dir>/secrets} (mode 700, files 600): the MySQL password (also in {@code <dir>/connect-secrets},
 * the only directory the Connect workers' config provider may read), and when secured the SCRAM
 * password of each principal and the key stores' password.
 *
 * <p>Secured: the brokers' client listener is SASL_SSL with SCRAM-SHA-512 (certificates of a
 * cluster CA made here with the JDK's keytool, one per broker for its address); the controller
 * listener is mutual TLS, the brokers known by their certificates. Every role is a principal of its
 * own: {@code admin} (super user: the operator's tools, topic creation on the first bridge host),
 * {@code bridge}, {@code streams}, {@code connect}, each held to its ACL set, created at start.
 */
public final class ClusterSecurity {
  static final String MYSQL_PASSWORD_FILE = "mysql_password";
  static final String TLS_PASSWORD_FILE = "tls_password";
  static final String SCRAM = "SCRAM-SHA-512";

  /** The principals of a secured cluster. */
  public static final List<String> USERS = List.of("admin", "bridge", "streams", "connect");

  private final Path dir;
  private final Topology topology;
  private final boolean secure;

  private ClusterSecurity(Path dir, Topology topology, boolean secure) {
    this.dir = dir.toAbsolutePath().normalize();
    this.topology = topology;
    this.secure = secure;
  }

  /** Makes the secrets (and, secured, the certificates) of a new cluster. */
  static ClusterSecurity create(Path dir, Topology t, boolean secure) throws IOException {
    ClusterSecurity s = new ClusterSecurity(dir, t, secure);
    secretsDir(s.secretsDir());
    secretsDir(s.connectSecretsDir());
    String mysql = Cluster.password();
    writeSecret(s.secretsDir().resolve(MYSQL_PASSWORD_FILE), mysql);
    writeSecret(s.connectSecretsDir().resolve(MYSQL_PASSWORD_FILE), mysql);
    if (secure) {
      for (String user : USERS) {
        writeSecret(s.secretsDir().resolve("scram_" + user), Cluster.password());
      }
      writeSecret(s.secretsDir().resolve(TLS_PASSWORD_FILE), Cluster.password());
      s.makeCertificates();
    }
    return s;
  }

  static ClusterSecurity load(Path dir, Topology t, Properties state) {
    return new ClusterSecurity(dir, t, Boolean.parseBoolean(state.getProperty("secure", "false")));
  }

  Map<String, String> state() {
    return Map.of("secure", Boolean.toString(secure));
  }

  public boolean secure() {
    return secure;
  }

  Path secretsDir() {
    return dir.resolve("secrets");
  }

  /** The directory the Connect workers' DirectoryConfigProvider reads (MySQL password only). */
  Path connectSecretsDir() {
    return dir.resolve("connect-secrets");
  }

  Path mysqlPasswordFile() {
    return secretsDir().resolve(MYSQL_PASSWORD_FILE);
  }

  String mysqlPassword() {
    return read(mysqlPasswordFile());
  }

  private String scramPassword(String user) {
    return read(secretsDir().resolve("scram_" + user));
  }

  private String tlsPassword() {
    return read(secretsDir().resolve(TLS_PASSWORD_FILE));
  }

  private Path tlsDir() {
    return dir.resolve("tls");
  }

  Path trustStore() {
    return tlsDir().resolve("truststore.p12");
  }

  private Path keyStore(Host h) {
    return tlsDir().resolve(h.name() + ".p12");
  }

  /** The listener part of broker {@code h}'s configuration. */
  Map<String, String> brokerListeners(Host h) {
    Map<String, String> p = new TreeMap<>();
    String controller = "CONTROLLER://" + h.address() + ":" + Topology.CONTROLLER_PORT;
    if (!secure) {
      p.put(
          "listeners", "PLAINTEXT://" + h.address() + ":" + Topology.KAFKA_PORT + "," + controller);
      p.put("advertised.listeners", "PLAINTEXT://" + h.address() + ":" + Topology.KAFKA_PORT);
      p.put("inter.broker.listener.name", "PLAINTEXT");
      p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
      return p;
    }
    String client = "SASL_SSL://" + h.address() + ":" + Topology.KAFKA_PORT;
    p.put("listeners", client + "," + controller);
    p.put("advertised.listeners", client);
    p.put("inter.broker.listener.name", "SASL_SSL");
    p.put("listener.security.protocol.map", "SASL_SSL:SASL_SSL,CONTROLLER:SSL");
    p.put("sasl.enabled.mechanisms", SCRAM);
    p.put("sasl.mechanism.inter.broker.protocol", SCRAM);
    p.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", jaas("admin"));
    String password = tlsPassword();
    p.put("ssl.keystore.type", "PKCS12");
    p.put("ssl.keystore.location", keyStore(h).toString());
    p.put("ssl.keystore.password", password);
    p.put("ssl.key.password", password);
    p.put("ssl.truststore.type", "PKCS12");
    p.put("ssl.truststore.location", trustStore().toString());
    p.put("ssl.truststore.password", password);
    // Controllers and brokers know each other by certificate.
    p.put("listener.name.controller.ssl.client.auth", "required");
    p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    p.put(
        "super.users",
        "User:admin;"
            + topology.of(Role.KAFKA).stream()
                .map(b -> "User:CN=" + b.name())
                .collect(Collectors.joining(";")));
    return p;
  }

  /** {@code kafka-storage format} arguments that give every principal its SCRAM credential. */
  List<String> scramBootstrapArgs() {
    List<String> args = new ArrayList<>();
    if (secure) {
      for (String user : USERS) {
        args.add("--add-scram");
        args.add(SCRAM + "=[name=" + user + ",password=" + scramPassword(user) + "]");
      }
    }
    return args;
  }

  /** What a Kafka client of {@code user} needs (nothing when not secured). */
  public Map<String, String> client(String user) {
    Map<String, String> p = new TreeMap<>();
    if (secure) {
      p.put("security.protocol", "SASL_SSL");
      p.put("sasl.mechanism", SCRAM);
      p.put("sasl.jaas.config", jaas(user));
      p.put("ssl.truststore.type", "PKCS12");
      p.put("ssl.truststore.location", trustStore().toString());
      p.put("ssl.truststore.password", tlsPassword());
    }
    return p;
  }

  /** The admin principal's client settings, for the machine's own checks and tools. */
  Map<String, Object> adminClient() {
    return new HashMap<>(client("admin"));
  }

  /**
   * A Connect worker's own settings and those of the clients it makes for the sink (same
   * principal).
   */
  Map<String, String> connectWorker() {
    Map<String, String> p = new TreeMap<>();
    Map<String, String> c = client("connect");
    p.putAll(c);
    for (String prefix : List.of("producer.", "consumer.", "admin.")) {
      c.forEach((k, v) -> p.put(prefix + k, v));
    }
    return p;
  }

  /**
   * The {@code kafka.client.*} settings of an iris process on host {@code h}: the bridge's or the
   * streams app's principal for its own clients; the first bridge host's launcher also creates the
   * topics (the admin principal's {@code tools} role).
   */
  Map<String, String> irisClients(Host h) {
    Map<String, String> p = new TreeMap<>();
    if (!secure) {
      return p;
    }
    String user = h.role() == Role.STREAMS ? "streams" : "bridge";
    client(user).forEach((k, v) -> p.put("kafka.client." + k, v));
    if (h.role() == Role.BRIDGE && h.index() == 1) {
      client("admin").forEach((k, v) -> p.put("kafka.client.tools." + k, v));
    }
    return p;
  }

  private String jaas(String user) {
    return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + user
        + "\" password=\""
        + scramPassword(user)
        + "\";";
  }

  private void makeCertificates() throws IOException {
    Path tls = tlsDir();
    secretsDir(tls);
    String pw = tlsPassword();
    Path ca = tls.resolve("ca.p12");
    Path caPem = tls.resolve("ca.pem");
    genKeyPair(ca, "ca", "CN=iris-cluster-ca", "bc:c", pw);
    keytool(
        "-exportcert",
        "-alias",
        "ca",
        "-keystore",
        ca.toString(),
        "-storepass",
        pw,
        "-rfc",
        "-file",
        caPem.toString());
    importCa(caPem, trustStore(), pw);
    for (Host h : topology.of(Role.KAFKA)) {
      Path ks = keyStore(h);
      Path csr = tls.resolve(h.name() + ".csr");
      Path pem = tls.resolve(h.name() + ".pem");
      String san = "SAN=ip:" + h.address();
      genKeyPair(ks, h.name(), "CN=" + h.name(), san, pw);
      keytool(
          "-certreq",
          "-alias",
          h.name(),
          "-keystore",
          ks.toString(),
          "-storepass",
          pw,
          "-file",
          csr.toString());
      keytool(
          "-gencert",
          "-alias",
          "ca",
          "-keystore",
          ca.toString(),
          "-storepass",
          pw,
          "-infile",
          csr.toString(),
          "-outfile",
          pem.toString(),
          "-ext",
          san,
          "-ext",
          "EKU=serverAuth,clientAuth",
          "-validity",
          "30",
          "-rfc");
      importCa(caPem, ks, pw);
      keytool(
          "-importcert",
          "-alias",
          h.name(),
          "-file",
          pem.toString(),
          "-keystore",
          ks.toString(),
          "-storepass",
          pw);
      Files.delete(csr);
    }
  }

  /** An EC key pair valid 30 days in a PKCS12 {@code store}, with one certificate extension. */
  private static void genKeyPair(Path store, String alias, String dname, String ext, String pw)
      throws IOException {
    keytool(
        "-genkeypair",
        "-alias",
        alias,
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        dname,
        "-ext",
        ext,
        "-validity",
        "30",
        "-storetype",
        "PKCS12",
        "-keystore",
        store.toString(),
        "-storepass",
        pw);
  }

  /** Adds the CA's certificate to {@code store} (a PKCS12 store, made if missing). */
  private static void importCa(Path caPem, Path store, String pw) throws IOException {
    keytool(
        "-importcert",
        "-noprompt",
        "-alias",
        "ca",
        "-file",
        caPem.toString(),
        "-keystore",
        store.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        pw);
  }

  private static void keytool(String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("keytool " + args[0] + " failed: " + out.strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void secretsDir(Path d) throws IOException {
    Files.createDirectories(d);
    Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
  }

  private static void writeSecret(Path file, String value) throws IOException {
    Files.deleteIfExists(file);
    Files.createFile(
        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, value, StandardCharsets.UTF_8);
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
