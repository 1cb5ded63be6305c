package io.iris.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.iris.bridge.BridgeConfig;
import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.Message;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.ThreadSummary;
import io.iris.sdk.IrisDevice;
import io.iris.testkit.SelfSignedTls;
import io.iris.topics.Names;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;

/**
 * One user's session, twice at once on the same stack: a push phone (the SDK: snapshot, then Thrift
 * deltas over MQTT/TLS) and a pull phone (notification, then an HTTPS GET of the thread's latest
 * messages as JSON, {@link PullServer}). Each phone has the same threads with the same friends,
 * receives the same messages at the same moments and sends at the same moments; each reaches the
 * server through its own {@link LinkProxy} with the same link, which counts every byte.
 *
 * <p>Used twice by the results harness: on a perfect link to count bytes per delivered message
 * (with an offline spell in the middle), and on a bad mobile link to count sends that were not
 * confirmed within the app's timeout.
 */
public final class SessionBenchmark {

  /** What happens in the session. Times in simulated minutes. */
  public record Scenario(
      String name,
      int minutes,
      int msPerMinute,
      int threads,
      int history,
      double incomingPerMinute,
      double sendsPerMinute,
      int offlineFrom,
      int offlineTo,
      LinkProxy.Link link,
      int timeoutMs,
      long seed) {}

  /** What one phone did and cost. */
  public record PhoneResult(
      String protocol,
      long initialBytes,
      long sessionBytesUp,
      long sessionBytesDown,
      long incomingExpected,
      long incomingDelivered,
      int sends,
      int confirmed,
      long connections,
      long losses,
      long[] sendLatenciesMs) {
    public long sessionBytes() {
      return sessionBytesUp + sessionBytesDown;
    }

    /** Messages the phone holds that it did not before: received, and its own confirmed. */
    public long delivered() {
      return incomingDelivered + confirmed;
    }

    public double bytesPerDelivered() {
      return sessionBytes() / (double) Math.max(1, delivered());
    }

    public int failed() {
      return sends - confirmed;
    }

    public double failureRate() {
      return sends == 0 ? 0 : failed() / (double) sends;
    }
  }

  /** Both phones of one scenario. */
  public record Result(Scenario scenario, PhoneResult push, PhoneResult pull) {}

  private static final String TLS_PASSWORD = "bench-edge-secret";
  private static final long PUSH_USER = 8_100_001;
  private static final long PULL_USER = 8_200_001;
  private static final long FRIENDS = 8_300_000;

  private final PrintStream out;

  public SessionBenchmark(PrintStream out) {
    this.out = out;
  }

  /** Runs the scenarios one after the other on one fresh stack. */
  public List<Result> run(List<Scenario> scenarios) throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-session");
    Map<String, Object> c = IrisConfig.onFreePorts(dir);
    Path keyStore = dir.resolve("edge.p12");
    SelfSignedTls.keyStore(keyStore, TLS_PASSWORD);
    c.put(BridgeConfig.MQTT_TLS_PORT_CONFIG, io.iris.embedded.Ports.freePort());
    c.put(BridgeConfig.MQTT_TLS_KEYSTORE_PATH_CONFIG, keyStore.toString());
    c.put(BridgeConfig.MQTT_TLS_KEYSTORE_PASSWORD_CONFIG, TLS_PASSWORD);
    try (IrisStack stack = new IrisStack(new IrisConfig(c))) {
      stack.preflight();
      stack.start(line -> out.println("bench: up  " + line));
      return runOn(stack, keyStore, TLS_PASSWORD, scenarios);
    } finally {
      StreamsBenchmark.deleteTree(dir);
    }
  }

  /** Runs the scenarios on a running stack whose MQTT edge has TLS with this key store. */
  public List<Result> runOn(
      IrisStack stack, Path keyStore, String password, List<Scenario> scenarios) throws Exception {
    SSLContext client = SelfSignedTls.client(keyStore, password);
    SSLContext server = SelfSignedTls.server(keyStore, password);
    List<Result> results = new ArrayList<>();
    int round = 0;
    for (Scenario s : scenarios) {
      results.add(runOne(stack, client, server, s, round++));
    }
    return results;
  }

  private Result runOne(
      IrisStack stack, SSLContext client, SSLContext server, Scenario s, int round)
      throws Exception {
    long pushUser = PUSH_USER + round * 10L;
    long pullUser = PULL_USER + round * 10L;
    byte[] raw = new byte[32];
    new SecureRandom().nextBytes(raw);
    String pullToken = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    int known = stack.devices().size();
    String pushToken = DeviceRegistry.register(stack.bootstrapServers(), pushUser, "phone");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (stack.devices().size() <= known && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    Random random = new Random(s.seed());
    long[] pushThreads = new long[s.threads()];
    long[] pullThreads = new long[s.threads()];
    out.printf(
        "bench: [%s] %d threads each with %d messages of history%n",
        s.name(), s.threads(), s.history());
    try (KafkaProducer<Long, byte[]> friends = producer(stack.bootstrapServers());
        PullServer pullServer =
            new PullServer(stack.bootstrapServers(), server, Map.of(pullUser, pullToken));
        LinkProxy pushLink = new LinkProxy("push", stack.mqtt().settings().tls().port(), s.link());
        LinkProxy pullHttps = new LinkProxy("pull-https", pullServer.httpsPort(), s.link());
        LinkProxy pullNotify =
            new LinkProxy("pull-notify", pullServer.notificationPort(), s.link())) {
      long friendBase = FRIENDS + round * 1000L;
      for (int t = 0; t < s.threads(); t++) {
        pushThreads[t] = 8_000_000_000L + round * 1000L + t;
        pullThreads[t] = 8_000_500_000L + round * 1000L + t;
        long a = friendBase + 2L * t;
        long b = a + 1;
        create(friends, a, pushThreads[t], List.of(pushUser, b));
        create(friends, a, pullThreads[t], List.of(pullUser, b));
      }
      for (int i = 0; i < s.history(); i++) {
        for (int t = 0; t < s.threads(); t++) {
          String text = CommandPayloads.text(random, 10 + random.nextInt(70));
          long from = friendBase + 2L * t + random.nextInt(2);
          say(friends, from, pushThreads[t], "h" + i, text);
          say(friends, from, pullThreads[t], "h" + i, text);
        }
      }
      friends.flush();
      awaitStored(stack, pushUser, (long) s.threads() * (1 + s.history()));

      PushPhone push = new PushPhone(pushUser, pushToken, pushLink, client, s.timeoutMs());
      PullPhone pull =
          new PullPhone(pullUser, pullToken, pullHttps, pullNotify, client, s.timeoutMs());
      push.start();
      pull.start();
      long initialPush = pushLink.bytesUp() + pushLink.bytesDown();
      long initialPull = pullBytes(pullHttps, pullNotify);
      long[] pushAt = {pushLink.bytesUp(), pushLink.bytesDown()};
      long[] pullAt = {
        pullHttps.bytesUp() + pullNotify.bytesUp(), pullHttps.bytesDown() + pullNotify.bytesDown()
      };
      out.printf(
          "bench: [%s] initial load: push %,d B (snapshot), pull %,d B (inbox + %d pages)%n",
          s.name(), initialPush, initialPull, s.threads());

      // The session: a Poisson schedule of incoming messages and sends, the same for both.
      Set<String> expectedIncoming = ConcurrentHashMap.newKeySet();
      // One thread per send in flight: a send's clock starts when the user presses send.
      ExecutorService senders = Executors.newCachedThreadPool();
      int sends = 0;
      long start = System.nanoTime();
      double msPer = s.msPerMinute();
      double nextIn = exp(random, s.incomingPerMinute());
      double nextSend = exp(random, s.sendsPerMinute());
      boolean offline = false;
      boolean wasOffline = false;
      long lastReport = System.nanoTime();
      while (true) {
        double next = Math.min(nextIn, nextSend);
        if (next >= s.minutes()) {
          break;
        }
        if (!offline && !wasOffline && s.offlineTo() > s.offlineFrom() && next >= s.offlineFrom()) {
          sleepUntil(start, s.offlineFrom() * msPer);
          out.printf("bench: [%s] minute %d: both phones go offline%n", s.name(), s.offlineFrom());
          push.goOffline();
          pull.goOffline();
          offline = true;
          wasOffline = true;
        }
        if (offline && next >= s.offlineTo() && s.offlineTo() > 0) {
          sleepUntil(start, s.offlineTo() * msPer);
          out.printf("bench: [%s] minute %d: both phones come back%n", s.name(), s.offlineTo());
          push.comeBack();
          pull.comeBack();
          offline = false;
        }
        sleepUntil(start, next * msPer);
        if (System.nanoTime() - lastReport > 10_000_000_000L) {
          lastReport = System.nanoTime();
          out.printf(
              "bench: [%s] minute %.0f of %d: push holds %d, pull %d of %d incoming; %d sends,"
                  + " confirmed push %d, pull %d%n",
              s.name(),
              next,
              s.minutes(),
              push.incoming.size(),
              pull.incoming.size(),
              expectedIncoming.size(),
              sends,
              push.confirmed(),
              pull.confirmed());
        }
        int t = random.nextInt(s.threads());
        String text = CommandPayloads.text(random, 10 + random.nextInt(70));
        if (nextIn <= nextSend) {
          long from = friendBase + 2L * t + random.nextInt(2);
          String id = "in" + expectedIncoming.size();
          say(friends, from, pushThreads[t], id, text);
          say(friends, from, pullThreads[t], id, text);
          expectedIncoming.add(text + "|" + t + "|" + expectedIncoming.size());
          nextIn += exp(random, s.incomingPerMinute());
        } else {
          if (!offline) {
            sends++;
            long pt = pushThreads[t];
            long qt = pullThreads[t];
            long pressed = System.nanoTime();
            senders.execute(() -> push.send(pt, text, pressed));
            senders.execute(() -> pull.send(qt, text, pressed));
          }
          nextSend += exp(random, s.sendsPerMinute());
        }
      }
      friends.flush();
      if (offline) {
        push.comeBack();
        pull.comeBack();
      }
      // Let both settle: every incoming message delivered, every send given its full timeout.
      senders.shutdown();
      senders.awaitTermination(s.timeoutMs() * 3L, TimeUnit.MILLISECONDS);
      long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while ((push.incoming.size() < expectedIncoming.size()
              || pull.incoming.size() < expectedIncoming.size())
          && System.nanoTime() < settle) {
        Thread.sleep(100);
      }
      Thread.sleep(1000);
      PhoneResult pushResult =
          new PhoneResult(
              "push",
              initialPush,
              pushLink.bytesUp() - pushAt[0],
              pushLink.bytesDown() - pushAt[1],
              expectedIncoming.size(),
              push.incoming.size(),
              sends,
              push.confirmed(),
              pushLink.connections(),
              pushLink.losses(),
              push.latencies());
      PhoneResult pullResult =
          new PhoneResult(
              "pull",
              initialPull,
              pullHttps.bytesUp() + pullNotify.bytesUp() - pullAt[0],
              pullHttps.bytesDown() + pullNotify.bytesDown() - pullAt[1],
              expectedIncoming.size(),
              pull.incoming.size(),
              sends,
              pull.confirmed(),
              pullHttps.connections() + pullNotify.connections(),
              pullHttps.losses(),
              pull.latencies());
      push.close();
      pull.close();
      return new Result(s, pushResult, pullResult);
    }
  }

  private static long pullBytes(LinkProxy https, LinkProxy notify) {
    return https.bytesUp() + https.bytesDown() + notify.bytesUp() + notify.bytesDown();
  }

  private static double exp(Random r, double perMinute) {
    return -Math.log(1 - r.nextDouble()) / perMinute;
  }

  private static void sleepUntil(long startNanos, double ms) throws InterruptedException {
    long wait = startNanos + (long) (ms * 1_000_000) - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }

  private static KafkaProducer<Long, byte[]> producer(String bootstrap) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    return new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer());
  }

  private static void create(
      KafkaProducer<Long, byte[]> p, long creator, long thread, List<Long> others) {
    StreamsBenchmark.produce(
        p,
        new ClientCommand(
            creator,
            "friend",
            "create-" + thread,
            thread,
            System.currentTimeMillis(),
            CommandBody.createThread(
                new CreateThread(others).setName("friends " + thread % 1000))));
  }

  private static void say(
      KafkaProducer<Long, byte[]> p, long from, long thread, String id, String text) {
    StreamsBenchmark.produce(
        p,
        new ClientCommand(
            from,
            "friend",
            thread + "-" + id,
            thread,
            System.currentTimeMillis(),
            CommandBody.sendMessage(new SendMessage(text))));
  }

  /** Waits until MySQL holds {@code count} deltas of the user: snapshots are read from it. */
  private void awaitStored(IrisStack stack, long user, long count) throws Exception {
    IrisConfig config = stack.config();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    try (Connection db =
            DriverManager.getConnection(stack.jdbcUrl(), config.jdbcUser(), config.jdbcPassword());
        PreparedStatement q =
            db.prepareStatement(
                "SELECT COALESCE(MAX(stored_count), 0) FROM "
                    + Names.USER_POSITIONS_TABLE
                    + " WHERE user_id = ?")) {
      q.setLong(1, user);
      while (System.nanoTime() < deadline) {
        try (ResultSet rs = q.executeQuery()) {
          rs.next();
          if (rs.getLong(1) >= count) {
            return;
          }
        }
        Thread.sleep(200);
      }
    }
    throw new IllegalStateException("MySQL did not store user " + user + "'s history within 120 s");
  }

  // ----- the phones -----------------------------------------------------------------------------

  private abstract static class Phone implements AutoCloseable {
    final Set<Long> incoming = ConcurrentHashMap.newKeySet();
    final long user;
    final int timeoutMs;
    final List<Long> latencies = new CopyOnWriteArrayList<>();
    final AtomicLong confirmed = new AtomicLong();

    Phone(long user, int timeoutMs) {
      this.user = user;
      this.timeoutMs = timeoutMs;
    }

    int confirmed() {
      return (int) confirmed.get();
    }

    long[] latencies() {
      return latencies.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    void confirmedAfter(long startNanos) {
      long ms = (System.nanoTime() - startNanos) / 1_000_000;
      if (ms <= timeoutMs) {
        confirmed.incrementAndGet();
        latencies.add(ms);
      }
    }

    /** Messages the phone held before the session: not counted as delivered in it. */
    final Set<Long> history = ConcurrentHashMap.newKeySet();

    void sawMessage(long sender, long messageId, long thread) {
      long key = thread * 1_000_000 + messageId;
      if (sender != user && !history.contains(key)) {
        incoming.add(key);
      }
    }

    abstract void start() throws Exception;

    /** Sends and waits for the confirmation, at most the timeout after {@code t0}. */
    abstract void send(long thread, String text, long t0);

    abstract void goOffline();

    abstract void comeBack();
  }

  /** The SDK as a phone app uses it. */
  private final class PushPhone extends Phone {
    private final String token;
    private final LinkProxy link;
    private final SSLContext tls;
    private volatile IrisDevice device;
    // No position yet: the first connect takes a snapshot.
    private IrisDevice.Position position = IrisDevice.Position.NONE;

    PushPhone(long user, String token, LinkProxy link, SSLContext tls, int timeoutMs) {
      super(user, timeoutMs);
      this.token = token;
      this.link = link;
      this.tls = tls;
    }

    @Override
    void start() throws Exception {
      CompletableFuture<Void> snapshot = new CompletableFuture<>();
      open(snapshot);
      snapshot.get(60, TimeUnit.SECONDS);
    }

    private void open(CompletableFuture<Void> snapshot) {
      device =
          IrisDevice.builder()
              .serverUri("ssl://127.0.0.1:" + link.port())
              .user(user)
              .device("phone")
              .token(token)
              .lastPos(position.epoch(), position.lastPos())
              .socketFactory(tls.getSocketFactory())
              .sendDeadline(Duration.ofMillis(timeoutMs))
              .maxReconnectDelay(Duration.ofSeconds(5))
              .listener(
                  new IrisDevice.Listener() {
                    @Override
                    public void onSnapshot(Snapshot s) {
                      for (ThreadSummary t : s.getThreads()) {
                        for (Message m : t.getLastMessages()) {
                          history.add(t.getThreadId() * 1_000_000 + m.getMessageId());
                        }
                      }
                      if (snapshot != null) {
                        snapshot.complete(null);
                      }
                    }

                    @Override
                    public void onDeltas(List<Delta> deltas) {
                      for (Delta d : deltas) {
                        if (d.getBody().isSetNewMessage()) {
                          var nm = d.getBody().getNewMessage();
                          sawMessage(nm.getSenderUserId(), nm.getMessageId(), d.getThreadId());
                        }
                      }
                    }
                  })
              .build();
      try {
        device.connect(Duration.ofSeconds(30));
      } catch (Exception e) {
        throw new IllegalStateException("push phone cannot connect: " + e, e);
      }
    }

    @Override
    void send(long thread, String text, long t0) {
      try {
        device.send(thread, text).get(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
        confirmedAfter(t0);
      } catch (Exception e) {
        // not confirmed in time: a failed send
      }
    }

    @Override
    void goOffline() {
      IrisDevice d = device;
      d.close();
      position = d.position();
    }

    @Override
    void comeBack() {
      open(null);
    }

    @Override
    public void close() {
      device.close();
    }
  }

  /** The old app: a notification socket, HTTPS GETs of the latest messages, POSTs to send. */
  private final class PullPhone extends Phone {
    private final String token;
    private final LinkProxy https;
    private final LinkProxy notify;
    private final SSLContext tls;
    private final ExecutorService fetches = Executors.newSingleThreadExecutor();
    private final Map<Long, Long> newestSeen = new ConcurrentHashMap<>();
    private volatile HttpClient http;
    private volatile SSLSocket socket;
    private volatile boolean online;
    private volatile int generation;
    private Thread listener;

    PullPhone(
        long user, String token, LinkProxy https, LinkProxy notify, SSLContext tls, int timeoutMs) {
      super(user, timeoutMs);
      this.token = token;
      this.https = https;
      this.notify = notify;
      this.tls = tls;
    }

    private HttpRequest.Builder request(String path) {
      return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + https.port() + path))
          .timeout(Duration.ofMillis(timeoutMs))
          .header("Authorization", "Bearer " + token)
          .header("Accept", "application/json")
          .header("User-Agent", "IrisPull/1.0 (Android 14; Pixel 7)");
    }

    private JsonNode get(String path) throws IOException, InterruptedException {
      HttpResponse<byte[]> r =
          http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() != 200) {
        throw new IOException("GET " + path + ": " + r.statusCode());
      }
      return PullServer.JSON.readTree(r.body());
    }

    @Override
    void start() throws Exception {
      start(true);
    }

    private void start(boolean initial) throws Exception {
      online = true;
      int gen = ++generation;
      http =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .sslContext(tls)
              .connectTimeout(Duration.ofMillis(timeoutMs))
              .build();
      listener = new Thread(() -> listen(gen), "pull-phone-notifications");
      listener.setDaemon(true);
      listener.start();
      loadInbox(initial);
    }

    /** The inbox, then a page of every thread that has news (all of them the first time). */
    private void loadInbox(boolean all) throws IOException, InterruptedException {
      JsonNode inbox = get("/v1/threads");
      for (JsonNode t : inbox.path("threads")) {
        long thread = t.path("thread_id").asLong();
        long last = t.path("last_message").path("message_id").asLong(0);
        if (all || last > newestSeen.getOrDefault(thread, 0L)) {
          fetchThread(thread, all);
        }
      }
    }

    private void fetchThread(long thread, boolean history)
        throws IOException, InterruptedException {
      JsonNode page = get("/v1/threads/" + thread + "/messages?limit=20");
      long newest = newestSeen.getOrDefault(thread, 0L);
      for (JsonNode m : page.path("messages")) {
        long id = m.path("message_id").asLong();
        if (history) {
          this.history.add(thread * 1_000_000 + id);
        } else {
          sawMessage(m.path("sender_user_id").asLong(), id, thread);
        }
        newest = Math.max(newest, id);
      }
      newestSeen.put(thread, newest);
    }

    private void listen(int gen) {
      int attempt = 0;
      while (online && gen == generation) {
        try (SSLSocket s =
            (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", notify.port())) {
          socket = s;
          s.getOutputStream()
              .write(("AUTH " + user + " " + token + "\n").getBytes(StandardCharsets.UTF_8));
          s.getOutputStream().flush();
          BufferedReader in =
              new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
          String line;
          boolean first = true;
          while ((line = in.readLine()) != null) {
            JsonNode n = PullServer.JSON.readTree(line);
            if (first && attempt > 0) {
              // Back after a loss: what happened meanwhile is only in the inbox.
              fetches.execute(this::quietInbox);
            }
            first = false;
            attempt = 0;
            if ("new_message".equals(n.path("type").asText())) {
              long thread = n.path("thread_id").asLong();
              fetches.execute(() -> quietFetch(thread));
            }
          }
        } catch (IOException e) {
          // lost: reconnect below
        }
        attempt++;
        try {
          Thread.sleep(Math.min(5000, 250L << Math.min(attempt, 5)));
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    private void quietInbox() {
      try {
        loadInbox(false);
      } catch (IOException | InterruptedException e) {
        // the next notification or return tries again
      }
    }

    private void quietFetch(long thread) {
      for (int attempt = 0; attempt < 3; attempt++) {
        try {
          fetchThread(thread, false);
          return;
        } catch (IOException e) {
          sleepQuietly(500L << attempt);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    /** The app's rule: retry with backoff until confirmed or the timeout is up. */
    @Override
    void send(long thread, String text, long t0) {
      long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
      String body =
          "{\"client_message_id\":\"" + UUID.randomUUID() + "\",\"text\":" + quote(text) + "}";
      for (int attempt = 0; System.nanoTime() < deadline; attempt++) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        try {
          HttpResponse<byte[]> r =
              http.send(
                  request("/v1/threads/" + thread + "/messages")
                      .timeout(Duration.ofMillis(Math.max(1, left)))
                      .header("Content-Type", "application/json; charset=utf-8")
                      .POST(HttpRequest.BodyPublishers.ofString(body))
                      .build(),
                  HttpResponse.BodyHandlers.ofByteArray());
          if (r.statusCode() == 201) {
            confirmedAfter(t0);
            return;
          }
        } catch (IOException e) {
          // dropped or timed out: retry
        } catch (InterruptedException e) {
          return;
        }
        sleepQuietly(
            Math.min(
                250L << attempt,
                Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
      }
    }

    @Override
    void goOffline() {
      online = false;
      closeSocket();
      // Airplane mode: every connection of the phone dies; the pooled HTTPS ones too.
      https.dropAll();
      notify.dropAll();
    }

    @Override
    void comeBack() {
      try {
        start(false);
      } catch (Exception e) {
        throw new IllegalStateException("pull phone cannot come back: " + e, e);
      }
    }

    private void closeSocket() {
      SSLSocket s = socket;
      if (s != null) {
        try {
          s.close();
        } catch (IOException e) {
          // gone
        }
      }
    }

    @Override
    public void close() {
      online = false;
      closeSocket();
      fetches.shutdownNow();
      https.dropAll();
    }
  }

  static String quote(String s) {
    try {
      return PullServer.JSON.writeValueAsString(s);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
