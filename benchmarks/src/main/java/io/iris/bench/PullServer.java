package io.iris.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ThreadCreated;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import javax.net.ssl.SSLContext;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;

/**
 * The pull model Messenger moved away from, for the benchmarks only: a new message makes the server
 * send the phone a small notification over a persistent TLS socket, and the phone then asks over
 * HTTPS for the thread's latest messages, which come back as JSON with descriptive field names, as
 * a REST API would. Sends are {@code POST}s answered with the created message.
 *
 * <p>It runs on the same pipeline and the same data as the push path: sends become ClientCommands
 * in {@code iris.commands}, and what it serves and notifies comes from {@code iris.log} (held in
 * memory, which spares it MySQL's lag and so favours the baseline).
 *
 * <pre>
 *   GET  /v1/threads                          the inbox: threads with their last message
 *   GET  /v1/threads/{id}/messages?limit=20    the thread's latest messages
 *   GET  /v1/threads/{id}/messages?after={n}   the thread's messages sent or changed after change n
 *   POST /v1/threads/{id}/messages            {"client_message_id": …, "text": …}
 *   notification socket (TLS): "AUTH user token\n", then one JSON line per new or changed message
 * </pre>
 *
 * <p>The 2014 app asks for pages; a modern one asks for what was sent or changed since its change
 * cursor ({@code after}: edits and reactions of older messages come too) and sends {@code
 * Accept-Encoding: gzip}, which every answer then honours. HTTP/1.1 connections are kept alive (the
 * JDK server's default) for both.
 */
public final class PullServer implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  /** A message as the API shows it; changed in place by edits, deletes and reactions. */
  private static final class Message {
    final long id;
    final long thread;
    final long sender;
    final long time;
    final String clientId;
    String text;
    long editedTime;
    boolean deleted;
    final TreeMap<Long, String> reactions = new TreeMap<>();

    /** The thread's change number when it was sent or last changed: the modern app's cursor. */
    long version;

    Message(long id, long thread, long sender, String text, long time, String clientId) {
      this.id = id;
      this.thread = thread;
      this.sender = sender;
      this.text = text;
      this.time = time;
      this.clientId = clientId;
    }

    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("message_id", Long.toString(id));
      m.put("thread_id", Long.toString(thread));
      m.put("sender_user_id", Long.toString(sender));
      m.put("text", text);
      m.put("created_time", java.time.Instant.ofEpochMilli(time).toString());
      m.put(
          "edited_time",
          editedTime == 0 ? null : java.time.Instant.ofEpochMilli(editedTime).toString());
      m.put("is_deleted", deleted);
      m.put("client_message_id", clientId);
      m.put("attachments", List.of());
      // As a REST API lists them: each emoji with who chose it.
      Map<String, List<String>> byEmoji = new TreeMap<>();
      reactions.forEach(
          (user, emoji) ->
              byEmoji.computeIfAbsent(emoji, k -> new ArrayList<>()).add(Long.toString(user)));
      List<Map<String, Object>> list = new ArrayList<>();
      byEmoji.forEach((emoji, users) -> list.add(Map.of("emoji", emoji, "user_ids", users)));
      m.put("reactions", list);
      m.put("version", Long.toString(version));
      return m;
    }
  }

  private static final class ThreadView {
    final long id;
    String name;
    List<Long> participants = List.of();
    final TreeMap<Long, Message> messages = new TreeMap<>();

    /** Counts every new or changed message of the thread. */
    long version;

    ThreadView(long id) {
      this.id = id;
    }
  }

  private final Map<Long, String> tokens;
  private final Map<Long, ThreadView> threads = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Message>> confirmations = new ConcurrentHashMap<>();
  private final Map<Long, List<OutputStream>> listeners = new ConcurrentHashMap<>();
  private final KafkaProducer<Long, byte[]> producer;
  private final LogTail log;
  private final HttpsServer http;
  private final ServerSocket notifications;
  private final ExecutorService pool = Executors.newFixedThreadPool(8);
  private volatile boolean closed;

  /** Serves {@code users} (id to bearer token) from iris.log as of now. */
  public PullServer(String bootstrap, SSLContext tls, Map<Long, String> users) throws IOException {
    this.tokens = Map.copyOf(users);
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    producer = new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer());
    log = new LogTail(bootstrap, tokens.keySet(), true, "pull-server-log", this::apply);

    http = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    http.setHttpsConfigurator(new HttpsConfigurator(tls));
    http.setExecutor(pool);
    http.createContext("/v1/threads", this::handle);
    http.start();
    notifications =
        tls.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(this::acceptNotifications, "pull-server-notify");
    accept.setDaemon(true);
    accept.start();
  }

  public int httpsPort() {
    return http.getAddress().getPort();
  }

  public int notificationPort() {
    return notifications.getLocalPort();
  }

  // ----- iris.log -> thread views, confirmations, notifications ----------------------------------

  private void apply(Delta d) {
    ThreadView t = threads.computeIfAbsent(d.getThreadId(), ThreadView::new);
    if (d.getBody().isSetThreadCreated()) {
      ThreadCreated tc = d.getBody().getThreadCreated();
      synchronized (t) {
        t.name = tc.getName();
        t.participants = List.copyOf(tc.getParticipantUserIds());
      }
      return;
    }
    if (changed(t, d)) {
      notify(d, "message_changed");
      return;
    }
    if (!d.getBody().isSetNewMessage()) {
      return;
    }
    NewMessage nm = d.getBody().getNewMessage();
    Message m =
        new Message(
            nm.getMessageId(),
            d.getThreadId(),
            nm.getSenderUserId(),
            nm.getText(),
            d.getServerTimestampMs(),
            nm.getClientId());
    synchronized (t) {
      m.version = ++t.version;
      t.messages.put(m.id, m);
    }
    if (nm.isSetClientId()) {
      confirmations.computeIfAbsent(nm.getClientId(), k -> new CompletableFuture<>()).complete(m);
      return;
    }
    notify(d, "new_message");
  }

  /** Applies an edit, a delete or a reaction to its message; false for other deltas. */
  private static boolean changed(ThreadView t, Delta d) {
    var b = d.getBody();
    long messageId;
    if (b.isSetMessageEdited()) {
      messageId = b.getMessageEdited().getMessageId();
    } else if (b.isSetMessageDeleted()) {
      messageId = b.getMessageDeleted().getMessageId();
    } else if (b.isSetReactionChanged()) {
      messageId = b.getReactionChanged().getMessageId();
    } else {
      return false;
    }
    synchronized (t) {
      Message m = t.messages.get(messageId);
      if (m == null) {
        return true;
      }
      if (b.isSetMessageEdited()) {
        m.text = b.getMessageEdited().getText();
        m.editedTime = d.getServerTimestampMs();
      } else if (b.isSetMessageDeleted()) {
        m.deleted = true;
        m.text = "";
        m.reactions.clear();
      } else if (b.getReactionChanged().isSetEmoji()) {
        m.reactions.put(
            b.getReactionChanged().getReactorUserId(), b.getReactionChanged().getEmoji());
      } else {
        m.reactions.remove(b.getReactionChanged().getReactorUserId());
      }
      m.version = ++t.version;
    }
    return true;
  }

  /** One notification line to every socket of the delta's user. */
  private void notify(Delta d, String type) {
    byte[] line =
        ("{\"type\":\"" + type + "\",\"thread_id\":\"" + d.getThreadId() + "\"}\n")
            .getBytes(StandardCharsets.UTF_8);
    for (OutputStream out : listeners.getOrDefault(d.getUserId(), List.of())) {
      try {
        synchronized (out) {
          out.write(line);
          out.flush();
        }
      } catch (IOException e) {
        listeners.get(d.getUserId()).remove(out);
      }
    }
  }

  private void acceptNotifications() {
    while (!closed) {
      try {
        Socket s = notifications.accept();
        pool.execute(() -> register(s));
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private void register(Socket s) {
    try {
      s.setSoTimeout(10_000);
      StringBuilder line = new StringBuilder();
      int b;
      while ((b = s.getInputStream().read()) > 0 && b != '\n' && line.length() < 200) {
        line.append((char) b);
      }
      String[] parts = line.toString().split(" ");
      long user = parts.length == 3 && parts[0].equals("AUTH") ? Long.parseLong(parts[1]) : -1;
      if (!parts[2].equals(tokens.get(user))) {
        s.close();
        return;
      }
      s.setSoTimeout(0);
      OutputStream out = s.getOutputStream();
      out.write("{\"type\":\"ok\"}\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      listeners.computeIfAbsent(user, k -> new CopyOnWriteArrayList<>()).add(out);
    } catch (IOException | RuntimeException e) {
      try {
        s.close();
      } catch (IOException ignored) {
        // gone
      }
    }
  }

  // ----- HTTPS ----------------------------------------------------------------------------------

  private void handle(HttpExchange x) throws IOException {
    try (x) {
      String auth = x.getRequestHeaders().getFirst("Authorization");
      long user = userOf(auth);
      if (user < 0) {
        reply(x, 401, Map.of("error", Map.of("code", "unauthorized", "message", "bad token")));
        return;
      }
      String[] path = x.getRequestURI().getPath().split("/");
      // ["", "v1", "threads"] or ["", "v1", "threads", id, "messages"]
      if (path.length == 3 && x.getRequestMethod().equals("GET")) {
        reply(x, 200, inbox(user));
      } else if (path.length == 5 && path[4].equals("messages")) {
        long thread = Long.parseLong(path[3]);
        ThreadView t = threads.get(thread);
        if (t == null || !t.participants.contains(user)) {
          reply(x, 404, Map.of("error", Map.of("code", "not_found", "message", "no such thread")));
        } else if (x.getRequestMethod().equals("GET")) {
          Map<String, String> q = query(x.getRequestURI().getQuery());
          int limit = Math.min(100, Integer.parseInt(q.getOrDefault("limit", "20")));
          reply(
              x,
              200,
              q.containsKey("after")
                  ? since(t, Long.parseLong(q.get("after")), limit)
                  : page(t, limit));
        } else if (x.getRequestMethod().equals("POST")) {
          post(x, user, thread);
        } else {
          reply(x, 405, Map.of("error", Map.of("code", "method_not_allowed")));
        }
      } else {
        reply(x, 404, Map.of("error", Map.of("code", "not_found")));
      }
    } catch (RuntimeException e) {
      reply(x, 500, Map.of("error", Map.of("code", "internal", "message", String.valueOf(e))));
    }
  }

  private long userOf(String auth) {
    if (auth == null || !auth.startsWith("Bearer ")) {
      return -1;
    }
    String token = auth.substring(7);
    for (Map.Entry<Long, String> e : tokens.entrySet()) {
      if (e.getValue().equals(token)) {
        return e.getKey();
      }
    }
    return -1;
  }

  /** {@code a=1&b=2} as a map; no decoding (the phones send digits only). */
  static Map<String, String> query(String query) {
    Map<String, String> q = new LinkedHashMap<>();
    if (query != null) {
      for (String part : query.split("&")) {
        int eq = part.indexOf('=');
        if (eq > 0) {
          q.put(part.substring(0, eq), part.substring(eq + 1));
        }
      }
    }
    return q;
  }

  private Map<String, Object> inbox(long user) {
    List<Map<String, Object>> list = new ArrayList<>();
    for (ThreadView t : threads.values()) {
      synchronized (t) {
        if (!t.participants.contains(user)) {
          continue;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("thread_id", Long.toString(t.id));
        m.put("name", t.name);
        m.put("participant_user_ids", t.participants.stream().map(String::valueOf).toList());
        m.put("message_count", t.messages.size());
        m.put("version", Long.toString(t.version));
        m.put(
            "last_message", t.messages.isEmpty() ? null : t.messages.lastEntry().getValue().json());
        list.add(m);
      }
    }
    return Map.of("threads", list);
  }

  private static Map<String, Object> page(ThreadView t, int limit) {
    List<Map<String, Object>> list = new ArrayList<>();
    synchronized (t) {
      for (Message m : t.messages.descendingMap().values()) {
        if (list.size() == limit) {
          break;
        }
        list.add(m.json());
      }
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("thread_id", Long.toString(t.id));
    body.put("messages", list);
    body.put(
        "paging",
        Map.of("before", list.isEmpty() ? "" : list.get(list.size() - 1).get("message_id")));
    return body;
  }

  /**
   * The thread's messages sent or changed after change number {@code after}, in the order of their
   * last change, with the cursor to ask from next: a change cursor, as sync APIs have, so that an
   * edit or a reaction of a message fetched before comes too (a cursor over message ids would miss
   * them). Linear in the thread's messages: fine for a benchmark's few hundred.
   */
  private static Map<String, Object> since(ThreadView t, long after, int limit) {
    List<Map<String, Object>> list = new ArrayList<>();
    long cursor = after;
    boolean more;
    synchronized (t) {
      List<Message> changed =
          t.messages.values().stream()
              .filter(m -> m.version > after)
              .sorted(java.util.Comparator.comparingLong(m -> m.version))
              .toList();
      for (Message m : changed) {
        if (list.size() == limit) {
          break;
        }
        list.add(m.json());
        cursor = m.version;
      }
      more = changed.size() > list.size();
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("thread_id", Long.toString(t.id));
    body.put("messages", list);
    body.put("cursor", Long.toString(cursor));
    body.put("more", more);
    return body;
  }

  private void post(HttpExchange x, long user, long thread) throws IOException {
    JsonNode in = JSON.readTree(x.getRequestBody());
    String clientId = in.path("client_message_id").asText("");
    String text = in.path("text").asText("");
    if (clientId.isEmpty() || text.isEmpty()) {
      reply(x, 400, Map.of("error", Map.of("code", "invalid_argument")));
      return;
    }
    CompletableFuture<Message> confirmed =
        confirmations.computeIfAbsent(clientId, k -> new CompletableFuture<>());
    if (!confirmed.isDone()) {
      // A retry sends the same client id: the pipeline applies it once.
      ClientCommand c =
          new ClientCommand(
              user,
              "pull-phone",
              clientId,
              thread,
              System.currentTimeMillis(),
              CommandBody.sendMessage(new SendMessage(text)));
      StreamsBenchmark.produce(producer, c);
    }
    try {
      reply(x, 201, confirmed.get(30, TimeUnit.SECONDS).json());
    } catch (Exception e) {
      reply(x, 503, Map.of("error", Map.of("code", "unavailable", "message", "retry")));
    }
  }

  private static void reply(HttpExchange x, int status, Object body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    String accepted = x.getRequestHeaders().getFirst("Accept-Encoding");
    if (accepted != null && accepted.contains("gzip")) {
      ByteArrayOutputStream zipped = new ByteArrayOutputStream();
      try (GZIPOutputStream z = new GZIPOutputStream(zipped)) {
        z.write(bytes);
      }
      bytes = zipped.toByteArray();
      x.getResponseHeaders().set("Content-Encoding", "gzip");
    }
    x.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
    x.getResponseHeaders().set("Cache-Control", "no-store");
    x.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    closed = true;
    log.close();
    http.stop(0);
    try {
      notifications.close();
    } catch (IOException e) {
      // closing
    }
    pool.shutdownNow();
    producer.close();
  }
}
