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
import io.iris.protocol.thrift.EditMessage;
import io.iris.protocol.thrift.Message;
import io.iris.protocol.thrift.React;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.ThreadSummary;
import io.iris.sdk.IrisDevice;
import io.iris.testkit.SelfSignedTls;
import io.iris.topics.Names;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;

/**
 * One user's session, three times at once on the same stack: a push phone (the SDK: snapshot, then
 * Thrift deltas over MQTT/TLS), a pull phone as the 2014 app was (notification, then an HTTPS GET
 * of the thread's latest messages as JSON, {@link PullServer}) and a modern pull phone (the same
 * notification, then an HTTPS GET of the messages after its cursor, gzipped). Each phone has the
 * same threads with the same friends, receives the same messages at the same moments and sends at
 * the same moments.
 *
 * <p>Used twice by the results harness. Part 2 ({@link Scenario}): on a perfect link, each phone's
 * connections through byte-counting {@link LinkProxy}s, to count bytes per delivered message (with
 * an offline spell in the middle). Part 3 ({@link LinkPair}): paired runs on a {@link MobileLink}
 * profile, one link per phone for all its connections, both links with the same outages, the phones
 * living the same {@link Conversations}, to count sends that were not confirmed within the app's
 * timeout.
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
      long[] sendLatenciesMs,
      long changesSeen) {
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

  /**
   * The phones of one scenario: push, the 2014 pull app (pages) and a modern pull app (cursor,
   * gzip).
   */
  public record Result(
      Scenario scenario, PhoneResult push, PhoneResult pull, PhoneResult modern, int changesMade) {}

  /**
   * Of the friends' messages, the share its sender edits and the share the other friend reacts to,
   * each right after the next incoming message of the thread (drawn from their own random stream,
   * so the schedule of messages and sends is the one it was before changes were added).
   */
  static final double EDITED_SHARE = 0.10;

  static final double REACTED_SHARE = 0.30;

  private static final String[] EMOJIS = {
    "\uD83D\uDC4D", "\u2764\uFE0F", "\uD83D\uDE02", "\uD83D\uDE2E"
  };

  /**
   * A paired run of part 3: a push phone, a pull phone as the 2014 app was (pages) and a modern
   * pull phone (cursor, gzip), each reaching the server through one {@link MobileLink} of {@code
   * profile} for all its connections (a pull phone's notification socket, its HTTPS requests and
   * its sends share one radio), the links with the same outages at the same moments, each with its
   * own random draws otherwise; the phones live the same {@link Conversations}.
   *
   * @param index the pair's number within its profile, from 1
   * @param seed the outages and, through seeds derived from it, the conversations and each link's
   *     draws: pairs with different seeds are independent
   * @param minutes real minutes of conversations (the initial load and the settling come on top)
   * @param timeoutMs a send that the app has not seen confirmed this long after the user pressed
   *     send failed
   */
  public record LinkPair(
      MobileLink.Profile profile, int index, long seed, int minutes, int timeoutMs) {
    public String name() {
      return profile.name() + " #" + index;
    }
  }

  /**
   * One send of one phone in a paired run.
   *
   * @param conversation which of the person's conversations (sessions) it belongs to
   * @param pressedMs when the user pressed send, in ms since the link started (the clock of the
   *     link's outage schedule)
   * @param latencyMs from pressing send to the app seeing it confirmed; -1: failed
   */
  public record Send(int conversation, long pressedMs, long latencyMs) {
    public boolean failed() {
      return latencyMs < 0;
    }
  }

  /** What a phone's {@link MobileLink} did, over the whole run. */
  public record LinkCounters(
      long bytesUp,
      long bytesDown,
      long connections,
      long refused,
      long timedOut,
      long resets,
      long blackholes,
      long lossStalls,
      long overflowStalls,
      long fadeStalls,
      long wakeUps,
      long jitterSpikes) {
    static LinkCounters of(MobileLink l) {
      return new LinkCounters(
          l.bytesUp(),
          l.bytesDown(),
          l.connections(),
          l.refused(),
          l.timedOut(),
          l.resets(),
          l.blackholes(),
          l.stalls(MobileLink.Stall.LOSS),
          l.stalls(MobileLink.Stall.OVERFLOW),
          l.stalls(MobileLink.Stall.FADE),
          l.stalls(MobileLink.Stall.WAKE_UP),
          l.jitterSpikes());
    }

    long bytes() {
      return bytesUp + bytesDown;
    }
  }

  /**
   * One phone of a paired run.
   *
   * @param initialBytes bytes of the initial load (snapshot; inbox and pages), before the first
   *     conversation
   * @param link the link's counters at the end, initial load included
   */
  public record LinkPhone(
      String protocol,
      List<Send> sends,
      long initialBytes,
      long sessionBytes,
      long incomingExpected,
      long incomingDelivered,
      LinkCounters link) {
    public long failed() {
      return sends.stream().filter(Send::failed).count();
    }

    public long[] latencies() {
      return sends.stream().filter(x -> !x.failed()).mapToLong(Send::latencyMs).sorted().toArray();
    }

    public double bytesPerDelivered() {
      return sessionBytes / (double) Math.max(1, incomingDelivered + sends.size() - failed());
    }
  }

  /**
   * Both phones of a paired run, on the same outages and the same conversations.
   *
   * @param conversationsAtMs when the first conversation's clock started, in ms since the links
   *     did: after the initial load
   */
  public record PairResult(
      LinkPair pair,
      MobileLink.Schedule schedule,
      long conversationsAtMs,
      LinkPhone push,
      LinkPhone pull,
      LinkPhone modern) {}

  /** What {@link #run(List, List, int)} measured; {@code failed} names the pairs that broke. */
  public record Runs(List<Result> sessions, List<PairResult> pairs, List<String> failed) {}

  private static final String TLS_PASSWORD = "bench-edge-secret";
  private static final long PUSH_USER = 8_100_001;
  private static final long PULL_USER = 8_200_001;
  private static final long MODERN_USER = 8_150_001;
  private static final long FRIENDS = 8_300_000;

  /** Threads and messages of history per thread of the person in a paired run (as part 2's). */
  static final int PAIR_THREADS = 5;

  static final int PAIR_HISTORY = 20;

  /**
   * The links' outages start this long after the links do: the initial load (a snapshot; an inbox
   * and five pages) crosses the link with its rate, delay and losses but no outage, so that every
   * pair starts its conversations loaded. Conversations start then, or when both phones are loaded
   * if that takes longer.
   */
  static final long LOAD_MS = 60_000;

  private final PrintStream out;

  public SessionBenchmark(PrintStream out) {
    this.out = out;
  }

  /** Runs the scenarios one after the other on one fresh stack. */
  public List<Result> run(List<Scenario> scenarios) throws Exception {
    return run(scenarios, List.of(), 1).sessions();
  }

  /**
   * Runs the scenarios one after the other, then the paired runs, {@code parallel} at a time, on
   * one fresh stack. A pair that breaks (a phone that cannot load) is reported, not measured.
   */
  public Runs run(List<Scenario> scenarios, List<LinkPair> pairs, int parallel) throws Exception {
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
      List<Result> sessions = runOn(stack, keyStore, TLS_PASSWORD, scenarios);
      SSLContext client = SelfSignedTls.client(keyStore, TLS_PASSWORD);
      SSLContext server = SelfSignedTls.server(keyStore, TLS_PASSWORD);
      ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, parallel));
      List<Future<PairResult>> running = new ArrayList<>();
      for (int i = 0; i < pairs.size(); i++) {
        LinkPair p = pairs.get(i);
        int round = scenarios.size() + i;
        running.add(pool.submit(() -> runPair(stack, client, server, p, round)));
      }
      pool.shutdown();
      List<PairResult> done = new ArrayList<>();
      List<String> failed = new ArrayList<>();
      for (int i = 0; i < running.size(); i++) {
        try {
          done.add(running.get(i).get());
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          while (cause instanceof ExecutionException && cause.getCause() != null) {
            cause = cause.getCause();
          }
          failed.add(pairs.get(i).name() + " (seed " + pairs.get(i).seed() + "): " + cause);
          out.printf("bench: [%s] broke: %s%n", pairs.get(i).name(), cause);
        }
      }
      return new Runs(sessions, done, failed);
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

  /**
   * One round's people: each protocol's user has the same threads with the same friends; ids are
   * apart for every round, so that rounds can run at once on one stack.
   */
  private static final class Round {
    final long pushUser;
    final long pullUser;
    final long modernUser;
    final String pushToken;
    final String pullToken;
    final String modernToken;
    final long friendBase;
    final long[] pushThreads;
    final long[] pullThreads;
    final long[] modernThreads;

    Round(IrisStack stack, int round, int threads) throws Exception {
      pushUser = PUSH_USER + round * 10L;
      pullUser = PULL_USER + round * 10L;
      modernUser = MODERN_USER + round * 10L;
      pullToken = newToken();
      modernToken = newToken();
      pushToken = registerPush(stack, pushUser);
      friendBase = FRIENDS + round * 1000L;
      pushThreads = new long[threads];
      pullThreads = new long[threads];
      modernThreads = new long[threads];
      for (int t = 0; t < threads; t++) {
        pushThreads[t] = 8_000_000_000L + round * 1000L + t;
        pullThreads[t] = 8_000_500_000L + round * 1000L + t;
        modernThreads[t] = 8_000_250_000L + round * 1000L + t;
      }
    }

    private static String newToken() {
      byte[] raw = new byte[32];
      new SecureRandom().nextBytes(raw);
      return Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    }

    /** The pull server's users: both pull phones. */
    Map<Long, String> pullUsers() {
      return Map.of(pullUser, pullToken, modernUser, modernToken);
    }

    long friend(int thread, int which) {
      return friendBase + 2L * thread + which;
    }

    /** A friend says {@code text} in thread {@code t}, to every user of the round. */
    void say(KafkaProducer<Long, byte[]> friends, int t, int which, String id, String text) {
      SessionBenchmark.say(friends, friend(t, which), pushThreads[t], id, text);
      SessionBenchmark.say(friends, friend(t, which), pullThreads[t], id, text);
      SessionBenchmark.say(friends, friend(t, which), modernThreads[t], id, text);
    }

    /**
     * Friend {@code which} changes, in every copy of thread {@code t}, the message the friend
     * {@code author} sent as {@code id}; false when a copy's id is not known in time (nothing is
     * sent).
     */
    boolean change(
        KafkaProducer<Long, byte[]> friends,
        MessageIds ids,
        int t,
        int which,
        String id,
        String changeId,
        java.util.function.LongFunction<CommandBody> body)
        throws InterruptedException {
      long[] copies = {pushThreads[t], pullThreads[t], modernThreads[t]};
      long[] messageIds = new long[copies.length];
      for (int i = 0; i < copies.length; i++) {
        messageIds[i] = ids.await(copies[i] + "-" + id, Duration.ofSeconds(5));
        if (messageIds[i] == 0) {
          return false;
        }
      }
      for (int i = 0; i < copies.length; i++) {
        StreamsBenchmark.produce(
            friends,
            new ClientCommand(
                friend(t, which),
                "friend",
                copies[i] + "-" + changeId,
                copies[i],
                System.currentTimeMillis(),
                body.apply(messageIds[i])));
      }
      return true;
    }

    Set<Long> friends(int threads) {
      Set<Long> all = new java.util.HashSet<>();
      for (int t = 0; t < threads; t++) {
        all.add(friend(t, 0));
        all.add(friend(t, 1));
      }
      return all;
    }
  }

  private static final Object REGISTERING = new Object();

  /** Registers the push phone and waits until the edge knows it; one at a time. */
  private static String registerPush(IrisStack stack, long user) throws Exception {
    synchronized (REGISTERING) {
      int known = stack.devices().size();
      String token = DeviceRegistry.register(stack.bootstrapServers(), user, "phone");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (stack.devices().size() <= known && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      return token;
    }
  }

  /** Creates the round's threads with {@code history} messages each, stored in MySQL. */
  private void populate(
      IrisStack stack,
      KafkaProducer<Long, byte[]> friends,
      Round r,
      int history,
      Random random,
      String name)
      throws Exception {
    int threads = r.pushThreads.length;
    out.printf("bench: [%s] %d threads each with %d messages of history%n", name, threads, history);
    for (int t = 0; t < threads; t++) {
      create(friends, r.friend(t, 0), r.pushThreads[t], List.of(r.pushUser, r.friend(t, 1)));
      create(friends, r.friend(t, 0), r.pullThreads[t], List.of(r.pullUser, r.friend(t, 1)));
      create(friends, r.friend(t, 0), r.modernThreads[t], List.of(r.modernUser, r.friend(t, 1)));
    }
    for (int i = 0; i < history; i++) {
      for (int t = 0; t < threads; t++) {
        String text = CommandPayloads.text(random, 10 + random.nextInt(70));
        r.say(friends, t, random.nextInt(2), "h" + i, text);
      }
    }
    friends.flush();
    awaitStored(stack, r.pushUser, (long) threads * (1 + history));
  }

  private Result runOne(
      IrisStack stack, SSLContext client, SSLContext server, Scenario s, int round)
      throws Exception {
    Round r = new Round(stack, round, s.threads());
    Random random = new Random(s.seed());
    Random changes = new Random(s.seed() + 1);
    try (KafkaProducer<Long, byte[]> friends = producer(stack.bootstrapServers());
        MessageIds ids = new MessageIds(stack.bootstrapServers(), r.friends(s.threads()));
        PullServer pullServer = new PullServer(stack.bootstrapServers(), server, r.pullUsers());
        LinkProxy pushLink = new LinkProxy("push", stack.mqtt().settings().tls().port(), s.link());
        LinkProxy pullHttps = new LinkProxy("pull-https", pullServer.httpsPort(), s.link());
        LinkProxy pullNotify =
            new LinkProxy("pull-notify", pullServer.notificationPort(), s.link());
        LinkProxy modernHttps = new LinkProxy("modern-https", pullServer.httpsPort(), s.link());
        LinkProxy modernNotify =
            new LinkProxy("modern-notify", pullServer.notificationPort(), s.link())) {
      populate(stack, friends, r, s.history(), random, s.name());
      long[] pushThreads = r.pushThreads;
      long[] pullThreads = r.pullThreads;

      PushPhone push =
          new PushPhone(r.pushUser, r.pushToken, pushLink.port(), client, s.timeoutMs());
      PullPhone pull =
          new PullPhone(
              r.pullUser,
              r.pullToken,
              pullHttps.port(),
              pullNotify.port(),
              client,
              s.timeoutMs(),
              () -> {
                pullHttps.dropAll();
                pullNotify.dropAll();
              },
              false);
      PullPhone modern =
          new PullPhone(
              r.modernUser,
              r.modernToken,
              modernHttps.port(),
              modernNotify.port(),
              client,
              s.timeoutMs(),
              () -> {
                modernHttps.dropAll();
                modernNotify.dropAll();
              },
              true);
      push.start();
      pull.start();
      modern.start();
      long initialPush = pushLink.bytesUp() + pushLink.bytesDown();
      long initialPull = pullBytes(pullHttps, pullNotify);
      long initialModern = pullBytes(modernHttps, modernNotify);
      long[] pushAt = {pushLink.bytesUp(), pushLink.bytesDown()};
      long[] pullAt = {
        pullHttps.bytesUp() + pullNotify.bytesUp(), pullHttps.bytesDown() + pullNotify.bytesDown()
      };
      long[] modernAt = {
        modernHttps.bytesUp() + modernNotify.bytesUp(),
        modernHttps.bytesDown() + modernNotify.bytesDown()
      };
      out.printf(
          "bench: [%s] initial load: push %,d B (snapshot), pull %,d B (inbox + %d pages),"
              + " modern pull %,d B (the same, gzipped)%n",
          s.name(), initialPush, initialPull, s.threads(), initialModern);

      // The session: a Poisson schedule of incoming messages and sends, the same for both.
      Set<String> expectedIncoming = ConcurrentHashMap.newKeySet();
      // Per thread, the last incoming message: its sender (0 or 1) and id.
      Map<Integer, Map.Entry<Integer, String>> lastIncoming = new java.util.HashMap<>();
      java.util.concurrent.atomic.AtomicInteger changesMade =
          new java.util.concurrent.atomic.AtomicInteger();
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
          modern.goOffline();
          offline = true;
          wasOffline = true;
        }
        if (offline && next >= s.offlineTo() && s.offlineTo() > 0) {
          sleepUntil(start, s.offlineTo() * msPer);
          out.printf("bench: [%s] minute %d: both phones come back%n", s.name(), s.offlineTo());
          push.comeBack();
          pull.comeBack();
          modern.comeBack();
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
          int which = random.nextInt(2);
          String id = "in" + expectedIncoming.size();
          r.say(friends, t, which, id, text);
          expectedIncoming.add(text + "|" + t + "|" + expectedIncoming.size());
          // Then, now and then, the previous incoming message of the thread is edited by its
          // sender or reacted to by the other friend.
          Map.Entry<Integer, String> previous = lastIncoming.put(t, Map.entry(which, id));
          double u = changes.nextDouble();
          if (previous != null && u < EDITED_SHARE + REACTED_SHARE) {
            boolean edit = u < EDITED_SHARE;
            int author = previous.getKey();
            String edited = CommandPayloads.text(changes, 10 + changes.nextInt(70));
            String emoji = EMOJIS[changes.nextInt(EMOJIS.length)];
            int thread = t;
            String target = previous.getValue();
            // Apart from the schedule: the message's ids may take a commit to be known.
            senders.execute(
                () -> {
                  try {
                    if (r.change(
                        friends,
                        ids,
                        thread,
                        edit ? author : 1 - author,
                        target,
                        (edit ? "edit-" : "react-") + target,
                        messageId ->
                            edit
                                ? CommandBody.editMessage(new EditMessage(messageId, edited))
                                : CommandBody.react(new React(messageId).setEmoji(emoji)))) {
                      changesMade.incrementAndGet();
                    }
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                });
          }
          nextIn += exp(random, s.incomingPerMinute());
        } else {
          if (!offline) {
            int index = sends++;
            long pt = pushThreads[t];
            long qt = pullThreads[t];
            long mt = r.modernThreads[t];
            long pressed = System.nanoTime();
            senders.execute(() -> push.send(index, pt, text, pressed));
            senders.execute(() -> pull.send(index, qt, text, pressed));
            senders.execute(() -> modern.send(index, mt, text, pressed));
          }
          nextSend += exp(random, s.sendsPerMinute());
        }
      }
      friends.flush();
      if (offline) {
        push.comeBack();
        pull.comeBack();
        modern.comeBack();
      }
      // Let both settle: every incoming message delivered, every send given its full timeout.
      senders.shutdown();
      senders.awaitTermination(s.timeoutMs() * 3L, TimeUnit.MILLISECONDS);
      long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while ((push.incoming.size() < expectedIncoming.size()
              || push.changes.get() < changesMade.get()
              || pull.incoming.size() < expectedIncoming.size()
              || modern.incoming.size() < expectedIncoming.size())
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
              push.latencies(),
              push.changes.get());
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
              pull.latencies(),
              pull.changes.get());
      PhoneResult modernResult =
          new PhoneResult(
              "modern pull",
              initialModern,
              modernHttps.bytesUp() + modernNotify.bytesUp() - modernAt[0],
              modernHttps.bytesDown() + modernNotify.bytesDown() - modernAt[1],
              expectedIncoming.size(),
              modern.incoming.size(),
              sends,
              modern.confirmed(),
              modernHttps.connections() + modernNotify.connections(),
              modernHttps.losses(),
              modern.latencies(),
              modern.changes.get());
      push.close();
      pull.close();
      modern.close();
      return new Result(s, pushResult, pullResult, modernResult, changesMade.get());
    }
  }

  /** One paired run on a mobile link (part 3). */
  private PairResult runPair(
      IrisStack stack, SSLContext client, SSLContext server, LinkPair p, int round)
      throws Exception {
    String name = p.name();
    try {
      IrisDevice.class.getMethod("networkChanged");
    } catch (NoSuchMethodException e) {
      // An older SDK jar first on the class path: the link's listener would die on it.
      throw new IllegalStateException(
          "the device SDK on the class path has no networkChanged(): rebuild with ./iris");
    }
    Round r = new Round(stack, round, PAIR_THREADS);
    Random random = new Random(p.seed());
    long lengthMs = TimeUnit.MINUTES.toMillis(p.minutes());
    List<Conversations.Event> events =
        Conversations.generate(mix(p.seed(), 3), lengthMs, PAIR_THREADS);
    // Outages until the last send's timeout is over, after the initial load.
    MobileLink.Schedule outages =
        after(
            LOAD_MS,
            MobileLink.Schedule.generate(
                p.profile(), p.seed(), Duration.ofMillis(lengthMs + p.timeoutMs())));
    try (KafkaProducer<Long, byte[]> friends = producer(stack.bootstrapServers());
        PullServer pullServer = new PullServer(stack.bootstrapServers(), server, r.pullUsers())) {
      populate(stack, friends, r, PAIR_HISTORY, random, name);
      int mqtt = stack.mqtt().settings().tls().port();
      int https = pullServer.httpsPort();
      int notify = pullServer.notificationPort();
      long origin = System.nanoTime();
      try (MobileLink pushLink =
              new MobileLink(
                  name + "-push", List.of(mqtt), p.profile(), mix(p.seed(), 1), outages);
          MobileLink pullLink =
              new MobileLink(
                  name + "-pull", List.of(https, notify), p.profile(), mix(p.seed(), 2), outages);
          MobileLink modernLink =
              new MobileLink(
                  name + "-modern",
                  List.of(https, notify),
                  p.profile(),
                  mix(p.seed(), 4),
                  outages)) {
        PushPhone push =
            new PushPhone(r.pushUser, r.pushToken, pushLink.port(mqtt), client, p.timeoutMs());
        PullPhone pull =
            new PullPhone(
                r.pullUser,
                r.pullToken,
                pullLink.port(https),
                pullLink.port(notify),
                client,
                p.timeoutMs(),
                () -> {},
                false);
        PullPhone modern =
            new PullPhone(
                r.modernUser,
                r.modernToken,
                modernLink.port(https),
                modernLink.port(notify),
                client,
                p.timeoutMs(),
                () -> {},
                true);
        // As a phone's OS announces a new network to the apps.
        pushLink.onNetworkChange(push::networkChanged);
        pullLink.onNetworkChange(pull::networkChanged);
        modernLink.onNetworkChange(modern::networkChanged);
        try {
          ExecutorService loading = Executors.newFixedThreadPool(3);
          Future<?> pushLoaded =
              loading.submit(
                  () -> {
                    push.start();
                    return null;
                  });
          Future<?> pullLoaded =
              loading.submit(
                  () -> {
                    pull.start();
                    return null;
                  });
          Future<?> modernLoaded =
              loading.submit(
                  () -> {
                    modern.start();
                    return null;
                  });
          loading.shutdown();
          pushLoaded.get(5, TimeUnit.MINUTES);
          pullLoaded.get(5, TimeUnit.MINUTES);
          modernLoaded.get(5, TimeUnit.MINUTES);
          long loaded = System.nanoTime();
          long pushInitial = pushLink.bytesUp() + pushLink.bytesDown();
          long pullInitial = pullLink.bytesUp() + pullLink.bytesDown();
          long modernInitial = modernLink.bytesUp() + modernLink.bytesDown();
          long start = Math.max(loaded, origin + TimeUnit.MILLISECONDS.toNanos(LOAD_MS));
          out.printf(
              "bench: [%s] loaded in %.1f s: push %,d B, pull %,d B, modern pull %,d B;"
                  + " %d conversations, %d sends; %s; seed %d%n",
              name,
              (loaded - origin) / 1e9,
              pushInitial,
              pullInitial,
              modernInitial,
              events.isEmpty() ? 0 : events.get(events.size() - 1).conversation() + 1,
              events.stream().filter(Conversations.Event::send).count(),
              outages.describe(),
              p.seed());

          ExecutorService senders = Executors.newCachedThreadPool();
          List<long[]> pressed = new ArrayList<>(); // conversation, ms since origin
          int incoming = 0;
          long lastReport = System.nanoTime();
          for (Conversations.Event e : events) {
            sleepUntil(start, e.atMs());
            if (e.send()) {
              int index = pressed.size();
              long at = System.nanoTime();
              pressed.add(new long[] {e.conversation(), (at - origin) / 1_000_000});
              long pt = r.pushThreads[e.thread()];
              long qt = r.pullThreads[e.thread()];
              long mt = r.modernThreads[e.thread()];
              senders.execute(() -> push.send(index, pt, e.text(), at));
              senders.execute(() -> pull.send(index, qt, e.text(), at));
              senders.execute(() -> modern.send(index, mt, e.text(), at));
            } else {
              r.say(friends, e.thread(), random.nextInt(2), "in" + incoming++, e.text());
              friends.flush();
            }
            if (System.nanoTime() - lastReport > 60_000_000_000L) {
              lastReport = System.nanoTime();
              out.printf(
                  "bench: [%s] minute %d of %d: %d sends, confirmed push %d, pull %d, modern %d;"
                      + " incoming push %d, pull %d, modern %d of %d%n",
                  name,
                  e.atMs() / 60_000,
                  p.minutes(),
                  pressed.size(),
                  push.confirmed(),
                  pull.confirmed(),
                  modern.confirmed(),
                  push.incoming.size(),
                  pull.incoming.size(),
                  modern.incoming.size(),
                  incoming);
            }
          }
          // Every pair lasts as long as its schedule, so that every outage in it happens, then
          // every
          // send has its full timeout; incoming messages get 30 s more to arrive.
          sleepUntil(start, lengthMs + p.timeoutMs());
          senders.shutdown();
          senders.awaitTermination(p.timeoutMs() * 3L, TimeUnit.MILLISECONDS);
          long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
          while ((push.incoming.size() < incoming
                  || pull.incoming.size() < incoming
                  || modern.incoming.size() < incoming)
              && System.nanoTime() < settle) {
            Thread.sleep(100);
          }
          LinkPhone pushResult = phone("push", push, pressed, pushInitial, pushLink, incoming);
          LinkPhone pullResult = phone("pull", pull, pressed, pullInitial, pullLink, incoming);
          LinkPhone modernResult =
              phone("modern pull", modern, pressed, modernInitial, modernLink, incoming);
          out.printf(
              "bench: [%s] done: failed push %d, pull %d, modern pull %d of %d sends%n",
              name,
              pushResult.failed(),
              pullResult.failed(),
              modernResult.failed(),
              pressed.size());
          return new PairResult(
              p, outages, (start - origin) / 1_000_000, pushResult, pullResult, modernResult);
        } finally {
          push.close();
          pull.close();
          modern.close();
        }
      }
    }
  }

  private static LinkPhone phone(
      String protocol,
      Phone phone,
      List<long[]> pressed,
      long initialBytes,
      MobileLink link,
      int incoming) {
    List<Send> sends = new ArrayList<>();
    for (int i = 0; i < pressed.size(); i++) {
      sends.add(new Send((int) pressed.get(i)[0], pressed.get(i)[1], phone.latency(i)));
    }
    LinkCounters counters = LinkCounters.of(link);
    return new LinkPhone(
        protocol,
        sends,
        initialBytes,
        counters.bytes() - initialBytes,
        incoming,
        phone.incoming.size(),
        counters);
  }

  /** The schedule with every outage {@code delayMs} later. */
  static MobileLink.Schedule after(long delayMs, MobileLink.Schedule s) {
    return new MobileLink.Schedule(
        delayMs + s.lengthMs(),
        s.outages().stream()
            .map(o -> new MobileLink.Outage(o.kind(), o.atMs() + delayMs, o.forMs()))
            .toList());
  }

  /** SplitMix64's finaliser: unrelated seeds from one (nearby seeds of Random are not). */
  static long mix(long seed, long salt) {
    long z = seed + salt * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
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

    /** Edits, deletes and reactions that reached the phone (for a pull phone: seen changed). */
    final AtomicLong changes = new AtomicLong();

    /** Confirmation time of each send confirmed in time, by the send's index. */
    final Map<Integer, Long> outcomes = new ConcurrentHashMap<>();

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

    void confirmedAfter(int index, long startNanos) {
      long ms = (System.nanoTime() - startNanos) / 1_000_000;
      if (ms <= timeoutMs) {
        confirmed.incrementAndGet();
        latencies.add(ms);
        outcomes.put(index, ms);
      }
    }

    /** The send's confirmation time, -1 if it failed. */
    long latency(int index) {
      return outcomes.getOrDefault(index, -1L);
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
    abstract void send(int index, long thread, String text, long t0);

    abstract void goOffline();

    abstract void comeBack();

    /** The OS announces a new network (after a network change of the link). */
    abstract void networkChanged();
  }

  /** The SDK as a phone app uses it. */
  private final class PushPhone extends Phone {
    private final String token;
    private final int port;
    private final SSLContext tls;
    private volatile IrisDevice device;
    // No position yet: the first connect takes a snapshot.
    private IrisDevice.Position position = IrisDevice.Position.NONE;

    PushPhone(long user, String token, int port, SSLContext tls, int timeoutMs) {
      super(user, timeoutMs);
      this.token = token;
      this.port = port;
      this.tls = tls;
    }

    @Override
    void start() throws Exception {
      CompletableFuture<Void> snapshot = new CompletableFuture<>();
      open(snapshot);
      snapshot.get(180, TimeUnit.SECONDS);
    }

    private void open(CompletableFuture<Void> snapshot) {
      device =
          IrisDevice.builder()
              .serverUri("ssl://127.0.0.1:" + port)
              .user(user)
              .device("phone")
              .token(token)
              .lastPos(position.epoch(), position.lastPos())
              .socketFactory(tls.getSocketFactory())
              .sendDeadline(Duration.ofMillis(timeoutMs))
              .maxReconnectDelay(Duration.ofSeconds(5))
              // The pull baselines give no delivery receipts: neither does this phone, so that the
              // bytes compare the same features.
              .deliveryReceipts(false)
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
                        } else if (d.getBody().isSetMessageEdited()
                            || d.getBody().isSetMessageDeleted()
                            || d.getBody().isSetReactionChanged()) {
                          changes.incrementAndGet();
                        }
                      }
                    }
                  })
              .build();
      try {
        device.connect(Duration.ofSeconds(120));
      } catch (Exception e) {
        throw new IllegalStateException("push phone cannot connect: " + e, e);
      }
    }

    @Override
    void send(int index, long thread, String text, long t0) {
      try {
        device.send(thread, text).get(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
        confirmedAfter(index, t0);
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
    void networkChanged() {
      IrisDevice d = device;
      if (d != null) {
        d.networkChanged();
      }
    }

    @Override
    public void close() {
      IrisDevice d = device;
      if (d != null) {
        d.close();
      }
    }
  }

  /**
   * The old app: a notification socket, HTTPS GETs of the latest messages, POSTs to send. Or, with
   * {@code modern}, today's pull app: the same socket and POSTs, but it asks only for the messages
   * after its cursor in the thread, gzipped.
   */
  private final class PullPhone extends Phone {
    private final String token;
    private final int httpsPort;
    private final int notifyPort;
    private final SSLContext tls;
    private final Runnable dropAll;
    private final boolean modern;
    private final ExecutorService fetches = Executors.newSingleThreadExecutor();
    private final Map<Long, Long> newestSeen = new ConcurrentHashMap<>();

    /** Per thread, the change number seen: the inbox's, and the modern app's cursor. */
    private final Map<Long, Long> versionSeen = new ConcurrentHashMap<>();

    /** Per message (thread * 1,000,000 + id), the change number it had when last fetched. */
    private final Map<Long, Long> messageVersions = new ConcurrentHashMap<>();

    private volatile HttpClient http;
    private volatile SSLSocket socket;
    private volatile boolean online;
    private volatile int generation;

    /**
     * @param dropAll resets every connection of the phone (airplane mode)
     */
    PullPhone(
        long user,
        String token,
        int httpsPort,
        int notifyPort,
        SSLContext tls,
        int timeoutMs,
        Runnable dropAll,
        boolean modern) {
      super(user, timeoutMs);
      this.modern = modern;
      this.token = token;
      this.httpsPort = httpsPort;
      this.notifyPort = notifyPort;
      this.tls = tls;
      this.dropAll = dropAll;
    }

    private HttpRequest.Builder request(String path) {
      HttpRequest.Builder b =
          HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + httpsPort + path))
              .timeout(Duration.ofMillis(timeoutMs))
              .header("Authorization", "Bearer " + token)
              .header("Accept", "application/json");
      return modern
          ? b.header("Accept-Encoding", "gzip").header("User-Agent", "IrisPull/2.0 (Android 14)")
          : b.header("User-Agent", "IrisPull/1.0 (Android 14; Pixel 7)");
    }

    private JsonNode get(String path) throws IOException, InterruptedException {
      HttpResponse<byte[]> r =
          http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() != 200) {
        throw new IOException("GET " + path + ": " + r.statusCode());
      }
      if (r.headers().firstValue("Content-Encoding").orElse("").equals("gzip")) {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(r.body()))) {
          return PullServer.JSON.readTree(in);
        }
      }
      return PullServer.JSON.readTree(r.body());
    }

    @Override
    void start() throws Exception {
      start(true);
    }

    private void start(boolean initial) throws Exception {
      online = true;
      http =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .sslContext(tls)
              .connectTimeout(Duration.ofMillis(timeoutMs))
              .build();
      listenAgain(false);
      // On a slow link a request can time out: the app tries again, as a person would.
      for (int attempt = 1; ; attempt++) {
        try {
          loadInbox(initial);
          return;
        } catch (IOException e) {
          if (attempt == 5) {
            throw e;
          }
          Thread.sleep(1000L * attempt);
        }
      }
    }

    /** A new listener on a new notification socket; the old one stops at its next turn. */
    private synchronized void listenAgain(boolean catchUp) {
      int gen = ++generation;
      closeSocket();
      Thread listener = new Thread(() -> listen(gen, catchUp), "pull-phone-notifications");
      listener.setDaemon(true);
      listener.start();
    }

    /**
     * The notification socket is bound to the old network and may never say it is dead: drop it,
     * connect again at once and catch up from the inbox, as the app would on Android's connectivity
     * broadcast. Pooled HTTPS connections were reset with the network.
     */
    @Override
    void networkChanged() {
      if (online) {
        listenAgain(true);
      }
    }

    /** The inbox, then a page of every thread that has news (all of them the first time). */
    private void loadInbox(boolean all) throws IOException, InterruptedException {
      JsonNode inbox = get("/v1/threads");
      for (JsonNode t : inbox.path("threads")) {
        long thread = t.path("thread_id").asLong();
        long version = t.path("version").asLong(0);
        if (all || version > versionSeen.getOrDefault(thread, 0L)) {
          fetchThread(thread, all);
        }
      }
    }

    private void fetchThread(long thread, boolean history)
        throws IOException, InterruptedException {
      long newest = newestSeen.getOrDefault(thread, 0L);
      long cursor = versionSeen.getOrDefault(thread, 0L);
      JsonNode page =
          modern && !history
              ? get("/v1/threads/" + thread + "/messages?after=" + cursor + "&limit=100")
              : get("/v1/threads/" + thread + "/messages?limit=20");
      for (JsonNode m : page.path("messages")) {
        long id = m.path("message_id").asLong();
        long version = m.path("version").asLong();
        if (history) {
          this.history.add(thread * 1_000_000 + id);
        } else {
          sawMessage(m.path("sender_user_id").asLong(), id, thread);
        }
        Long before = messageVersions.put(thread * 1_000_000 + id, version);
        if (before != null && version > before) {
          changes.incrementAndGet(); // an edit or a reaction of a message it had
        }
        newest = Math.max(newest, id);
        cursor = Math.max(cursor, version);
      }
      newestSeen.put(thread, newest);
      versionSeen.merge(thread, cursor, Math::max);
    }

    private void listen(int gen, boolean catchUp) {
      int attempt = catchUp ? 1 : 0;
      while (online && gen == generation) {
        try (SSLSocket s =
            (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", notifyPort)) {
          if (gen != generation) {
            return;
          }
          socket = s;
          s.getOutputStream()
              .write(("AUTH " + user + " " + token + "\n").getBytes(StandardCharsets.UTF_8));
          s.getOutputStream().flush();
          BufferedReader in =
              new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
          String line;
          boolean first = true;
          while (gen == generation && (line = in.readLine()) != null) {
            JsonNode n = PullServer.JSON.readTree(line);
            if (first && attempt > 0) {
              // Back after a loss: what happened meanwhile is only in the inbox.
              fetches.execute(this::quietInbox);
            }
            first = false;
            attempt = 0;
            String type = n.path("type").asText();
            if ("new_message".equals(type) || "message_changed".equals(type)) {
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
    void send(int index, long thread, String text, long t0) {
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
            confirmedAfter(index, t0);
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
      dropAll.run();
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
      dropAll.run();
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
