package io.iris.bridge.up;

import io.iris.bridge.KafkaClients;
import io.iris.bridge.down.CatchUp;
import io.iris.bridge.down.DevicePointers;
import io.iris.bridge.edge.DeviceSender;
import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.IdLimits;
import io.iris.protocol.thrift.Ack;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.DeliveredMark;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MarkDelivered;
import io.iris.protocol.thrift.SendResult;
import io.iris.protocol.thrift.ServerError;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import io.iris.topics.DeadLetters;
import io.iris.topics.Topics;
import io.moquette.interception.AbstractInterceptHandler;
import io.moquette.interception.messages.InterceptPublishMessage;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The send path: a device's command frame on its up topic becomes a {@link ClientCommand} on
 * iris.commands (idempotent producer, acks=all), with the sender taken from the authenticated
 * connection, never from the frame. The device is answered on its down topic: a SendResult once
 * Kafka has the command (Moquette's PUBACK comes before this handler runs and proves nothing), or
 * an error frame. A frame that does not decode, or is above the frame limit, is answered with an
 * error (naming its request id when the frame starts with one), counted, and its bytes go to
 * iris.dlq; the connection stays up.
 *
 * <p>A command whose copy from the same device (same client id) is still on its way to Kafka is not
 * produced again: it waits for that copy's outcome and gets the same answer (counted as {@code
 * coalesced}). While Kafka cannot take writes, devices resend what was not answered; without this,
 * every resend sat in the producer's buffer and reached iris.commands when Kafka came back (about
 * 260,000 copies per bridge in a measured outage of two brokers), for the streams app to drop one
 * by one.
 *
 * <p>An Ack's delivered marks ({@code Ack.delivered}) become MarkDelivered commands on
 * iris.commands, one per thread, under the device's own ids; the device is not answered for them
 * (acks are not answered) and they do not charge its token bucket: receipts ride on acks, which the
 * SDK paces.
 */
public final class SendPath extends AbstractInterceptHandler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SendPath.class);

  /**
   * The delivered marks of one Ack that are written (Ack.delivered: at most 64 threads); the rest
   * are dropped and counted. Bounds what one small frame makes the bridge write.
   */
  static final int MAX_DELIVERED_MARKS = 64;

  /**
   * A mark that could not be written is logged at most once per this interval: while Kafka is away
   * every ack of every device fails this way, and the counter tells how many.
   */
  private static final long MARK_FAILURE_LOG_INTERVAL_MS = 60_000;

  /** The outcomes of delivered marks, for metrics (see {@link #deliveredMarks}). */
  public static final java.util.List<String> MARK_OUTCOMES =
      java.util.List.of("written", "dropped-invalid", "dropped-over-cap", "unavailable");

  private final FrameCodec codec;
  private final FrameCodec reader;
  private final Producer<Long, byte[]> commands;
  private final Producer<byte[], byte[]> deadLetters;
  private final LongSupplier currentTimeMillis;
  private final DeviceSender replier;
  private final Map<String, AtomicLong> counters = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> marks = new ConcurrentHashMap<>();

  /** When a mark that could not be written may be logged next. */
  private final AtomicLong markFailureLogAtMs = new AtomicLong(Long.MIN_VALUE);

  /** Commands on their way to Kafka, by device and client id: the request ids to answer. */
  private final Map<String, java.util.List<String>> inFlight = new ConcurrentHashMap<>();

  /** What the send path hands requests other than commands to. */
  public record Services(
      CatchUp catchUp,
      TypingRelay typing,
      DevicePointers pointers,
      String epoch,
      java.util.function.LongPredicate serves,
      io.iris.bridge.edge.Redirects redirects,
      DeviceRateLimiter limiter) {}

  private final Services services;

  public SendPath(KafkaClients kafka, int maxFrameBytes, DeviceSender replier, Services services) {
    this(
        maxFrameBytes,
        replier,
        services,
        newProducer(kafka, "iris-bridge-commands", new LongSerializer()),
        newProducer(kafka, "iris-bridge-dlq", new ByteArraySerializer()),
        System::currentTimeMillis);
  }

  /**
   * A send path producing commands and dead letters with the given producers, stamping them with
   * {@code currentTimeMillis}.
   */
  SendPath(
      int maxFrameBytes,
      DeviceSender replier,
      Services services,
      Producer<Long, byte[]> commands,
      Producer<byte[], byte[]> deadLetters,
      LongSupplier currentTimeMillis) {
    this.codec = new FrameCodec(maxFrameBytes);
    // Frames above the limit but within what the network layer passes are read too, to answer them
    // with their request and client id (FRAME_TOO_LARGE) instead of as unreadable.
    this.reader = new FrameCodec(io.iris.bridge.edge.MqttEdge.networkBytes(maxFrameBytes));
    this.replier = replier;
    this.services = services;
    this.commands = commands;
    this.deadLetters = deadLetters;
    this.currentTimeMillis = currentTimeMillis;
  }

  private static <K> KafkaProducer<K, byte[]> newProducer(
      KafkaClients kafka, String clientId, Serializer<K> keys) {
    Properties p = kafka.durableProducer(clientId);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 1);
    return new KafkaProducer<>(p, keys, new ByteArraySerializer());
  }

  @Override
  public String getID() {
    return "iris-send-path";
  }

  @Override
  public Class<?>[] getInterceptedMessageTypes() {
    return new Class<?>[] {InterceptPublishMessage.class};
  }

  @Override
  public void onSessionLoopError(Throwable error) {
    log.error("MQTT session loop error", error);
  }

  /** The producer into iris.commands (to bind Kafka's own client metrics). */
  public Producer<Long, byte[]> commandsProducer() {
    return commands;
  }

  /** The counters that exist so far (for metrics). */
  public java.util.Set<String> outcomes() {
    return java.util.Set.copyOf(counters.keySet());
  }

  /** How many frames ended how: accepted, rejected-&lt;reason&gt;, unavailable. */
  public long count(String outcome) {
    AtomicLong c = counters.get(outcome);
    return c == null ? 0 : c.get();
  }

  private void count(String outcome, int n) {
    counters.computeIfAbsent(outcome, k -> new AtomicLong()).addAndGet(n);
  }

  /**
   * Delivered marks of acks by outcome (one of {@link #MARK_OUTCOMES}): written (Kafka has the
   * MarkDelivered command), dropped-invalid (thread or message id not positive), dropped-over-cap
   * (beyond {@link #MAX_DELIVERED_MARKS} in one Ack), unavailable (Kafka did not take it).
   */
  public long deliveredMarks(String outcome) {
    AtomicLong c = marks.get(outcome);
    return c == null ? 0 : c.get();
  }

  private void countMarks(String outcome, int n) {
    if (n > 0) {
      marks.computeIfAbsent(outcome, k -> new AtomicLong()).addAndGet(n);
    }
  }

  @Override
  public void onPublish(InterceptPublishMessage msg) {
    try {
      DeviceTopics.DeviceId device = DeviceTopics.parseClientId(msg.getClientID());
      if (device == null || !device.up().equals(msg.getTopicName())) {
        return; // not a device's up topic (the topic policy refuses these before routing)
      }
      handle(device, ByteBufUtil.getBytes(msg.getPayload()));
    } catch (RuntimeException e) {
      log.error("Send path failed on a frame of {}", msg.getClientID(), e);
    } finally {
      msg.getPayload().release();
    }
  }

  void handle(DeviceTopics.DeviceId device, byte[] frame) {
    if (frame.length > codec.maxFrameBytes()) {
      tooLarge(device, frame);
      return;
    }
    DeviceRequest request;
    try {
      request = reader.decode(frame, DeviceRequest::new);
    } catch (FrameException e) {
      if (e.reason() == FrameException.Reason.RETIRED_VERSION) {
        answerRetired(device, e.getMessage(), frame);
        return;
      }
      reject(
          device,
          FrameCodec.requestIdOf(frame),
          null,
          e.errorCode(),
          e.reason().name(),
          e.getMessage(),
          frame);
      return;
    }
    if (request.getBody().getSetField() == null) {
      reject(
          device,
          request.getRequestId(),
          null,
          ErrorCode.INVALID_ARGUMENT,
          "UNSUPPORTED_REQUEST",
          "a DeviceRequestBody member this server does not know (a newer app's request):"
              + " not applied, do not send it again",
          frame);
      return;
    }
    String rid = request.getRequestId();
    if (request.getBody().isSetAck()) {
      Ack ack = request.getBody().getAck();
      DevicePointers.Outcome o =
          services.pointers().ack(device, ack.getPos(), ack.getEpoch(), services.epoch());
      if (o != DevicePointers.Outcome.OTHER_EPOCH) {
        count("ack-" + o.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'), 1);
      } else {
        // Counted once, as rejected-ack-other-epoch.
        reject(
            device,
            rid,
            null,
            ErrorCode.RESNAPSHOT_REQUIRED,
            "ACK_OTHER_EPOCH",
            "ack of position "
                + ack.getPos()
                + " of epoch "
                + ack.getEpoch()
                + "; iris.log is now epoch "
                + services.epoch()
                + ": take a new snapshot",
            null);
      }
      // Written whatever the pointer's outcome: message ids are the threads', not the log's, so a
      // mark holds even in an ack of another epoch.
      if (ack.isSetDelivered()) {
        delivered(device, ack.getDelivered());
      }
      return;
    }
    if ((request.getBody().isSetSync() || request.getBody().isSetSnapshot())
        && !services.serves().test(device.userId())) {
      // Another bridge owns the user's partition: a sync here would be served from a partial view.
      count("redirected", 1);
      services
          .redirects()
          .redirect(device, rid, "the user's partition is served by another bridge");
      return;
    }
    if (request.getBody().isSetSync()) {
      count("sync", 1);
      services.catchUp().sync(device, rid, request.getBody().getSync());
      return;
    }
    if (request.getBody().isSetSnapshot()) {
      count("snapshot", 1);
      services.catchUp().snapshot(device, rid, request.getBody().getSnapshot());
      return;
    }
    DeviceCommand c = request.getBody().getCommand();
    String clientId = c.getClientId();
    if (!IdLimits.validId(clientId)) {
      reject(
          device,
          request.getRequestId(),
          clientId,
          ErrorCode.INVALID_ARGUMENT,
          "INVALID_CLIENT_ID",
          "clientId must be 1 to " + IdLimits.MAX_ID_BYTES + " bytes of UTF-8",
          frame);
      return;
    }
    long threadId = c.getThreadId();
    if (c.getBody().isSetCreateThread() && threadId == 0) {
      threadId = derivedThreadId(device.userId(), clientId);
    }
    if (c.getBody().getSetField() == null) {
      reject(
          device,
          request.getRequestId(),
          clientId,
          ErrorCode.INVALID_ARGUMENT,
          "UNSUPPORTED_COMMAND",
          "a CommandBody member this server does not know (a newer app's command):"
              + " not applied, do not send it again",
          frame);
      return;
    }
    if (c.getBody().isSetMarkDelivered()) {
      // Receipts have one way in, the Ack. As a command it would also wait for a confirming delta
      // that a MarkDelivered never gets (the SDK would resend it until its deadline).
      reject(
          device,
          request.getRequestId(),
          clientId,
          ErrorCode.INVALID_ARGUMENT,
          "RESERVED_COMMAND",
          "markDelivered is written by the bridge from Ack.delivered",
          frame);
      return;
    }
    if (threadId <= 0) {
      reject(
          device,
          request.getRequestId(),
          clientId,
          ErrorCode.INVALID_ARGUMENT,
          "INVALID_COMMAND",
          "threadId must be positive (0 only to create a thread)",
          frame);
      return;
    }
    long waitNanos = services.limiter().acquireOrWait(device.clientId());
    if (waitNanos > 0) {
      // A flood: refused and counted, not kept (the sender keeps it and resends later), and not
      // logged one by one (that would let a device flood the log instead).
      count("rejected-rate-limited", 1);
      if (!c.getBody().isSetTyping()) {
        sendResult(
            device,
            rid,
            new SendResult(clientId, false)
                .setError(
                    new ServerError(
                            ErrorCode.RATE_LIMITED,
                            "too many commands from this device; resend after retryAfterMs")
                        .setRetryAfterMs(retryAfterMs(waitNanos))));
      }
      return;
    }
    if (c.getBody().isSetTyping()) {
      typing(device, rid, c);
      return;
    }
    String flightKey = device.clientId() + '\u0000' + clientId;
    boolean[] first = {false};
    inFlight.compute(
        flightKey,
        (k, waiting) -> {
          if (waiting == null) {
            first[0] = true;
            waiting = new java.util.ArrayList<>(1);
          }
          waiting.add(rid);
          return waiting;
        });
    if (!first[0]) {
      count("coalesced", 1);
      return; // answered with the copy already on its way
    }
    ClientCommand command =
        new ClientCommand(
            device.userId(),
            device.deviceId(),
            clientId,
            threadId,
            currentTimeMillis.getAsLong(),
            c.getBody());
    try {
      produce(device, clientId, flightKey, threadId, command);
    } catch (RuntimeException e) {
      inFlight.remove(flightKey); // not on its way: a resend must be produced
      throw e;
    }
  }

  private void produce(
      DeviceTopics.DeviceId device,
      String clientId,
      String flightKey,
      long threadId,
      ClientCommand command) {
    commands.send(
        new ProducerRecord<>(Topics.COMMANDS.name(), threadId, codec.encode(command)),
        (metadata, e) -> {
          java.util.List<String> waiting = inFlight.remove(flightKey);
          SendResult result;
          if (e == null) {
            count("accepted", 1);
            result = new SendResult(clientId, true);
          } else {
            count("unavailable", 1);
            log.warn(
                "Could not hand a command of {} to Kafka: {}", device.clientId(), e.toString());
            result =
                new SendResult(clientId, false)
                    .setError(
                        new ServerError(
                            ErrorCode.UNAVAILABLE, "retry later: " + e.getClass().getSimpleName()));
          }
          for (String waiter : waiting == null ? java.util.List.<String>of() : waiting) {
            sendResult(device, waiter, result);
          }
        });
  }

  /**
   * An Ack's delivered marks: one MarkDelivered command per valid mark, keyed by its thread and
   * named "dlv:&lt;threadId&gt;:&lt;upTo&gt;" (a mark the device sends again after a lost
   * connection changes nothing: the streams app ignores a mark at or below the device's current
   * one, without the dedup window). Nobody is answered: a mark Kafka does not take is counted and
   * lost; a later mark of the thread covers it.
   */
  private void delivered(DeviceTopics.DeviceId device, java.util.List<DeliveredMark> delivered) {
    int invalid = 0;
    int considered = 0;
    long now = currentTimeMillis.getAsLong();
    for (DeliveredMark m : delivered) {
      if (considered == MAX_DELIVERED_MARKS) {
        break;
      }
      considered++;
      long threadId = m.getThreadId();
      long upTo = m.getUpToMessageId();
      if (threadId <= 0 || upTo <= 0) {
        invalid++;
        continue;
      }
      ClientCommand command =
          new ClientCommand(
              device.userId(),
              device.deviceId(),
              "dlv:" + threadId + ":" + upTo,
              threadId,
              now,
              CommandBody.markDelivered(new MarkDelivered(upTo)));
      try {
        commands.send(
            new ProducerRecord<>(Topics.COMMANDS.name(), threadId, codec.encode(command)),
            (metadata, e) -> {
              if (e == null) {
                countMarks("written", 1);
              } else {
                markFailed(device, e);
              }
            });
      } catch (RuntimeException e) {
        markFailed(device, e); // e.g. the producer closing: the other marks are tried all the same
      }
    }
    countMarks("dropped-invalid", invalid);
    countMarks("dropped-over-cap", delivered.size() - considered);
  }

  private void markFailed(DeviceTopics.DeviceId device, Exception e) {
    countMarks("unavailable", 1);
    long now = currentTimeMillis.getAsLong();
    long at = markFailureLogAtMs.get();
    if (now >= at && markFailureLogAtMs.compareAndSet(at, now + MARK_FAILURE_LOG_INTERVAL_MS)) {
      log.warn(
          "Could not hand a delivered mark of {} to Kafka ({} so far; logged at most once a"
              + " minute): {}",
          device.clientId(),
          deliveredMarks("unavailable"),
          e.toString());
    }
  }

  /** Typing never enters Kafka: relayed at QoS 0 to the thread's other members here. */
  private void typing(DeviceTopics.DeviceId device, String requestId, DeviceCommand c) {
    try {
      if (services.typing().relay(device, c.getThreadId(), c.getBody().getTyping().isTyping())) {
        count("typing", 1);
      } else {
        reject(
            device,
            requestId,
            c.getClientId(),
            ErrorCode.NOT_A_MEMBER,
            "TYPING_NOT_A_MEMBER",
            "not a member of thread " + c.getThreadId(),
            null);
      }
    } catch (java.sql.SQLException e) {
      count("typing-unavailable", 1); // ephemeral: dropped, nothing to keep
    }
  }

  /** A stable, positive thread id for a create without one: a resend maps to the same thread. */
  public static long derivedThreadId(long userId, String clientId) {
    long h = 1125899906842597L;
    for (byte b : (userId + "/" + clientId).getBytes(StandardCharsets.UTF_8)) {
      h = 31 * h + b;
    }
    h ^= (h >>> 33);
    h *= 0xff51afd7ed558ccdL;
    h ^= (h >>> 33);
    long id = h & Long.MAX_VALUE;
    return id == 0 ? 1 : id;
  }

  /** Nanoseconds to wait, as whole milliseconds rounded up (at least 1). */
  static int retryAfterMs(long waitNanos) {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, (waitNanos + 999_999) / 1_000_000));
  }

  private void sendResult(DeviceTopics.DeviceId device, String requestId, SendResult result) {
    replier.send(
        device,
        codec.encode(new ServerFrame(ServerFrameBody.sendResult(result)).setRequestId(requestId)));
  }

  /**
   * A frame above the frame limit: refused as a whole, nothing of it applied, the connection kept.
   * When it still reads (within the network layer's limit), the answer names its request and its
   * command's client id, so that the device settles that command instead of sending it again.
   */
  private void tooLarge(DeviceTopics.DeviceId device, byte[] frame) {
    String rid = FrameCodec.requestIdOf(frame);
    String clientId = null;
    try {
      DeviceRequest r = reader.decode(frame, DeviceRequest::new);
      if (r.getBody().isSetCommand()) {
        clientId = r.getBody().getCommand().getClientId();
      }
    } catch (FrameException e) {
      // unreadable as well: refused for its size, named by its request id if it has one
    }
    reject(
        device,
        rid,
        clientId,
        ErrorCode.FRAME_TOO_LARGE,
        FrameException.Reason.FRAME_TOO_LARGE.name(),
        "a frame of "
            + frame.length
            + " bytes is above the limit of "
            + codec.maxFrameBytes()
            + " bytes: not applied, do not send it again",
        frame);
  }

  /**
   * A frame of the retired version 1: its positions mean nothing now. Answered in version 1 (an old
   * app can read that error frame), counted and kept in iris.dlq like any rejected frame.
   */
  private void answerRetired(DeviceTopics.DeviceId device, String message, byte[] frame) {
    count("rejected-retired-version", 1);
    ServerFrame answer =
        new ServerFrame(
            ServerFrameBody.error(new ServerError(ErrorCode.RESNAPSHOT_REQUIRED, message)));
    String rid = FrameCodec.requestIdOf(frame, FrameCodec.VERSION_1);
    if (rid != null) {
      answer.setRequestId(rid);
    }
    replier.send(device, codec.encodeRetired(answer));
    deadLetter(device, FrameException.Reason.RETIRED_VERSION.name(), message, frame);
  }

  private void reject(
      DeviceTopics.DeviceId device,
      String requestId,
      String clientId,
      ErrorCode code,
      String reason,
      String message,
      byte[] frame) {
    count("rejected-" + reason.toLowerCase(java.util.Locale.ROOT).replace('_', '-'), 1);
    ServerError error = new ServerError(code, message);
    if (clientId != null) {
      error.setClientId(clientId);
    }
    ServerFrame answer = new ServerFrame(ServerFrameBody.error(error));
    if (requestId != null) {
      answer.setRequestId(requestId);
    }
    replier.send(device, codec.encode(answer));
    if (frame != null) {
      deadLetter(device, reason, message, frame);
    }
  }

  private void deadLetter(
      DeviceTopics.DeviceId device, String reason, String message, byte[] frame) {
    {
      RecordHeaders h = new RecordHeaders();
      h.add(DeadLetters.REASON, reason.getBytes(StandardCharsets.UTF_8));
      h.add(DeadLetters.MESSAGE, message.getBytes(StandardCharsets.UTF_8));
      h.add(DeadLetters.REJECTED_BY, "mqtt-bridge".getBytes(StandardCharsets.UTF_8));
      h.add(DeadLetters.SOURCE_TOPIC, device.up().getBytes(StandardCharsets.UTF_8));
      h.add(
          DeadLetters.REJECTED_AT,
          Long.toString(currentTimeMillis.getAsLong()).getBytes(StandardCharsets.UTF_8));
      deadLetters.send(
          new ProducerRecord<>(
              Topics.DLQ.name(),
              null,
              null,
              device.clientId().getBytes(StandardCharsets.UTF_8),
              frame,
              h));
    }
  }

  @Override
  public void close() {
    commands.close(java.time.Duration.ofSeconds(10));
    deadLetters.close(java.time.Duration.ofSeconds(10));
  }
}
