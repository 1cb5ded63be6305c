/*
 * Iris sync protocol: the wire contract between devices, the MQTT bridge and the Kafka topics.
 *
 * Every frame on the wire and on a topic is:  [version byte][Thrift compact encoding of one struct]
 * The version byte is written and checked by io.iris.protocol.FrameCodec, not by this file.
 *
 * Version 2 (this file). Version 1 numbered each user's deltas with a gap-free counter (seq);
 * version 2 uses the delta's offset in iris.log (its position) instead, with an epoch naming the
 * log those offsets belong to. Fields of version 1 that positions replace are retired: their ids
 * are never used again. A version-1 frame is answered with ServerError RESNAPSHOT_REQUIRED,
 * encoded as version 1 so that an old app can read it.
 *
 * Evolution rules (Thrift's own): never reuse or renumber a field id, never change a field's
 * type, never make an optional field required. New union members and new optional fields are
 * compatible: an old reader skips unknown fields; a union member it does not know arrives as an
 * empty union, which readers must treat as "unsupported, skip" rather than as an error. A Delta
 * whose body is such a member is still a delta of the user's queue: its position is applied like
 * any other (docs/PROTOCOL.md, "Frames"). The bridge forwards deltas as the bytes the streams app
 * wrote, so a newer kind reaches a newer app whole through an older bridge.
 *
 * Strings are UTF-8; a frame holding a string that is not is refused (INVALID_ARGUMENT).
 *
 * Ids: users and threads are i64 (> 0). Device ids and client ids are strings chosen by the
 * device (a UUID is fine), at most 64 bytes.
 */

namespace java io.iris.protocol.thrift

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

enum ErrorCode {
  /** Not classified; the message says more. */
  INTERNAL = 0,
  /** The frame did not parse as the expected struct. */
  MALFORMED_FRAME = 1,
  /** The frame's version byte is not one this server speaks. */
  UNSUPPORTED_VERSION = 2,
  /**
   * The frame exceeds the size limit (mqtt.max.message.bytes, 64 KiB by default); nothing of it
   * was applied and the connection stays up. Do not send it again.
   */
  FRAME_TOO_LARGE = 3,
  /** Bad credentials, or an attempt to read or act for another user. */
  UNAUTHORISED = 4,
  /** The thread does not exist. */
  UNKNOWN_THREAD = 5,
  /** The sender is not a member of the thread. */
  NOT_A_MEMBER = 6,
  /**
   * A field is missing, empty, out of range or not UTF-8, or a request or command kind this server
   * does not know; the message names it.
   */
  INVALID_ARGUMENT = 7,
  /** Message text exceeds the limit. */
  MESSAGE_TOO_LARGE = 8,
  /** The thread would exceed the participant limit. */
  TOO_MANY_PARTICIPANTS = 9,
  /** The device is too far behind to catch up by deltas: take a new snapshot (see ResnapshotRequired). */
  RESNAPSHOT_REQUIRED = 10,
  /** Too many requests; retry after a pause. */
  RATE_LIMITED = 11,
  /** A dependency is unavailable; retry with backoff, nothing was applied. */
  UNAVAILABLE = 12,
  /** A thread with this id already exists and was created by someone else. */
  THREAD_EXISTS = 13,
  /** The user id is not known to the server. */
  UNKNOWN_USER = 14,
}

/**
 * Why a request was refused. Named ServerError, not Error, so that generated code does not shadow
 * a language's built-in Error (JavaScript, TypeScript); the wire format is unchanged.
 */
struct ServerError {
  1: required ErrorCode code,
  /** Human-readable, for logs and developers; never shown to end users as is. */
  2: required string message,
  /** The client id of the request this answers, if any. */
  3: optional string clientId,
  /**
   * RATE_LIMITED and UNAVAILABLE: wait at least this many milliseconds before sending the request
   * again (for RATE_LIMITED, until the device's budget holds a command again). Absent: the
   * client's own backoff.
   */
  4: optional i32 retryAfterMs,
}

// ---------------------------------------------------------------------------------------------
// Commands: what a device asks for (device -> bridge), and what enters iris.commands
// ---------------------------------------------------------------------------------------------

/**
 * A file kept outside Iris (a blob store, a CDN), by reference: its bytes never enter Kafka, MQTT
 * or MySQL, only this metadata does. The app uploads the file first, then sends the message that
 * names it. Limits (the command is rejected with INVALID_ARGUMENT, rule INVALID_ATTACHMENT):
 * at most 10 per message, strings at most 1,024 bytes (contentType and name 255), sizeBytes >= 0,
 * sha256 exactly 32 bytes, width/height/durationMs >= 0, preview at most
 * commands.max.preview.bytes (2 KiB by default).
 */
struct Attachment {
  /** MIME type, e.g. image/jpeg. */
  1: required string contentType,
  2: required i64 sizeBytes,
  /** SHA-256 of the file's bytes: the app checks what it downloads against it. */
  3: required binary sha256,
  /** Where to fetch it: an opaque URL or blob id, meaningful to the app's media service. */
  4: required string url,
  /** Pixels, for images and videos. */
  5: optional i32 width,
  6: optional i32 height,
  /** Audio and video. */
  7: optional i32 durationMs,
  /** A small preview (e.g. a blurred JPEG thumbnail) shown before the file is fetched. */
  8: optional binary preview,
  /** The file's name as the sender chose it. */
  9: optional string name,
}

struct SendMessage {
  /** May be empty when the message carries attachments. */
  1: required string text,
  2: optional list<Attachment> attachments,
}

/**
 * Replace a message's text. Only its sender may, within commands.edit.window.ms of the message
 * (15 minutes by default), and not once it is deleted. The attachments stay.
 */
struct EditMessage {
  1: required i64 messageId,
  /** The new text; empty only if the message has attachments. */
  2: required string text,
}

/**
 * Delete a message for everyone. Only its sender may, within commands.delete.window.ms of the
 * message (1 hour by default). Deleting a deleted message again is refused (MESSAGE_DELETED).
 */
struct DeleteMessage {
  1: required i64 messageId,
}

/**
 * Set, replace or remove the sender's reaction to a message: one emoji per user per message, any
 * message of the thread that is not deleted, no time limit.
 */
struct React {
  1: required i64 messageId,
  /** One emoji (at most 64 UTF-8 bytes). Absent or empty: remove the user's reaction. */
  2: optional string emoji,
}

struct CreateThread {
  /** Every participant, the creator included or not (the creator is always added). */
  1: required list<i64> participantUserIds,
  2: optional string name,
}

struct AddParticipants {
  1: required list<i64> userIds,
}

struct RemoveParticipants {
  1: required list<i64> userIds,
}

struct MarkRead {
  /** The reader has seen every message of the thread up to and including this one. */
  1: required i64 upToMessageId,
}

/** Ephemeral: relayed device to device over QoS 0, never stored, never in iris.log. */
struct Typing {
  1: required bool typing,
}

/**
 * The sender's device holds the thread's messages up to and including this one. Not sent by
 * devices as a command: the bridge writes it to iris.commands from the delivered marks of a
 * device's Ack (Ack.delivered), under the device's own ids.
 */
struct MarkDelivered {
  1: required i64 upToMessageId,
}

union CommandBody {
  1: SendMessage sendMessage,
  2: CreateThread createThread,
  3: AddParticipants addParticipants,
  4: RemoveParticipants removeParticipants,
  5: MarkRead markRead,
  6: Typing typing,
  7: EditMessage editMessage,
  8: DeleteMessage deleteMessage,
  9: React react,
  10: MarkDelivered markDelivered,
}

/**
 * What a device publishes to act on a thread. The sender is never taken from the frame: the
 * bridge fills it from the authenticated connection.
 */
struct DeviceCommand {
  /**
   * Client-generated id (Messenger's "offline threading id"). Resending the same clientId after
   * a timeout never applies the command twice. The sender learns of success from its own delta
   * carrying this id.
   */
  1: required string clientId,
  /** For createThread: 0 lets the server derive the id from (sender, clientId). */
  2: required i64 threadId,
  3: required CommandBody body,
}

/** The value of iris.commands (key: thread id). Written by the bridge, read by the streams app. */
struct ClientCommand {
  1: required i64 senderUserId,
  2: required string senderDeviceId,
  3: required string clientId,
  4: required i64 threadId,
  /** When the bridge accepted it, epoch milliseconds. */
  5: required i64 receivedAtMs,
  6: required CommandBody body,
}

// ---------------------------------------------------------------------------------------------
// Deltas: the Iris queue (iris.log, key: user id)
// ---------------------------------------------------------------------------------------------

struct NewMessage {
  /** Server-assigned, unique per thread, increasing in thread order. */
  1: required i64 messageId,
  2: required i64 senderUserId,
  3: required string text,
  /** Only in the sender's own deltas: the clientId of the send, its confirmation. */
  4: optional string clientId,
  5: optional string senderDeviceId,
  6: optional list<Attachment> attachments,
}

/** The message's text was replaced by its sender. */
struct MessageEdited {
  1: required i64 messageId,
  2: required i64 senderUserId,
  3: required string text,
  /** Only in the sender's own deltas. */
  4: optional string clientId,
}

/** The message was deleted for everyone: show it as deleted, drop its text and attachments. */
struct MessageDeleted {
  1: required i64 messageId,
  /** Who deleted it (its sender). */
  2: required i64 deletedByUserId,
  /** Only in the deleter's own deltas. */
  3: optional string clientId,
}

/** A user's reaction to a message, replacing any earlier one of that user on that message. */
struct ReactionChanged {
  1: required i64 messageId,
  2: required i64 reactorUserId,
  /** The reaction; absent: the user removed theirs. */
  3: optional string emoji,
  /** Only in the reactor's own deltas. */
  4: optional string clientId,
}

struct ThreadCreated {
  1: required i64 creatorUserId,
  2: required list<i64> participantUserIds,
  3: optional string name,
  /** Only in the creator's own deltas. */
  4: optional string clientId,
}

struct ParticipantsChanged {
  1: required i64 actorUserId,
  2: required list<i64> addedUserIds,
  3: required list<i64> removedUserIds,
  /** The membership after the change. */
  4: required list<i64> participantUserIds,
  /** Only in the actor's own deltas. */
  5: optional string clientId,
  /** The thread's name, so that a member added now knows it. */
  6: optional string threadName,
}

struct ReadReceipt {
  1: required i64 readerUserId,
  2: required i64 upToMessageId,
  /** Only in the reader's own deltas. */
  3: optional string clientId,
}

/** A command of this user that the server refused; only in the sender's own queue. */
struct CommandRejected {
  1: required string clientId,
  2: required ErrorCode code,
  3: required string reason,
  /**
   * The rule that refused it, a stable name an app may branch on (the same as the dead-letter
   * header iris.dlq.reason), e.g. NOT_THE_SENDER, EDIT_WINDOW_PASSED, UNKNOWN_MESSAGE,
   * MESSAGE_DELETED. New rules come as new names, never as new ErrorCodes (an old app could not
   * read a code it does not know).
   */
  4: optional string rule,
}

/** One device of a member holds the thread's messages up to and including upToMessageId. */
struct DeviceDelivery {
  1: required i64 userId,
  2: required string deviceId,
  3: required i64 upToMessageId,
}

/**
 * Delivery receipts, batched: which members' devices now hold the thread's messages up to which
 * id. Sent to the members whose messages they cover (a sender learns when each member's devices
 * have its messages), at most one per thread and batch interval (commands.delivery.batch.ms),
 * however many devices acknowledged meanwhile. A device's entry replaces its earlier one; ids
 * only grow.
 */
struct DeliveryUpdate {
  1: required list<DeviceDelivery> deliveries,
}

union DeltaBody {
  1: NewMessage newMessage,
  2: ThreadCreated threadCreated,
  3: ParticipantsChanged participantsChanged,
  4: ReadReceipt readReceipt,
  5: CommandRejected commandRejected,
  6: MessageEdited messageEdited,
  7: MessageDeleted messageDeleted,
  8: ReactionChanged reactionChanged,
  9: DeliveryUpdate deliveryUpdate,
}

/**
 * One change of one user's view. In iris.log (key: user id) pos and prevPos are absent: a delta's
 * position is its offset there, known only once written. Whoever serves a delta to a device sets
 * both. Positions of one user only grow and are not contiguous (other users' deltas, transaction
 * markers and aborted records take offsets too).
 */
struct Delta {
  1: required i64 userId,
  // 2 (seq) and 3 (prevSeq): version 1, retired.
  4: required i64 threadId,
  5: required i64 serverTimestampMs,
  6: required DeltaBody body,
  /** The delta's offset in its user's partition of iris.log (of the batch's epoch). */
  7: optional i64 pos,
  /**
   * The promise that no delta of this user lies strictly between prevPos and pos. A device that
   * holds every delta up to lastPos applies this delta when prevPos <= lastPos (and drops it when
   * pos <= lastPos); otherwise it asks for (lastPos, prevPos] first.
   */
  8: optional i64 prevPos,
}

// ---------------------------------------------------------------------------------------------
// Pointers (iris.device-pointers, compacted, key: "<userId>:<deviceId>")
// ---------------------------------------------------------------------------------------------

struct DevicePointer {
  1: required i64 userId,
  2: required string deviceId,
  // 3 (ackedSeq): version 1, retired.
  4: required i64 updatedAtMs,
  /** The device holds every delta of its user up to and including this position. */
  5: required i64 ackedPos,
  /** The epoch ackedPos belongs to. */
  6: required string epoch,
}

// ---------------------------------------------------------------------------------------------
// Sync: device requests and server frames
// ---------------------------------------------------------------------------------------------

struct SnapshotRequest {
  1: optional i32 maxThreads = 20,
  2: optional i32 messagesPerThread = 20,
}

struct ReactionCount {
  1: required string emoji,
  2: required i32 count,
  /**
   * Who chose it, ascending: with it an app knows which emoji a later ReactionChanged of a user
   * replaces.
   */
  3: optional list<i64> userIds,
}

struct Message {
  1: required i64 messageId,
  2: required i64 threadId,
  3: required i64 senderUserId,
  4: required string text,
  5: required i64 serverTimestampMs,
  // 6 (seq): version 1, retired.
  7: optional string clientId,
  /** The position of the recipient's delta that delivered this message. */
  8: required i64 pos,
  /** Attachments' metadata (absent when deleted). */
  9: optional list<Attachment> attachments,
  /** Set when the text is an edit: the time of the last edit. */
  10: optional i64 editedAtMs,
  /** Deleted for everyone: text is empty and there are no attachments. */
  11: optional bool deleted = false,
  /** Reactions to it: each emoji with how many users chose it and who, most chosen first. */
  12: optional list<ReactionCount> reactions,
  /** The snapshot's own user's reaction, if any. */
  13: optional string myReaction,
}

struct ThreadSummary {
  1: required i64 threadId,
  2: optional string name,
  3: required list<i64> participantUserIds,
  /** Oldest first. */
  4: required list<Message> lastMessages,
  5: required i32 unreadCount,
  6: required i64 lastActivityMs,
}

struct Snapshot {
  1: required i64 userId,
  // 2 (seq): version 1, retired.
  /** Most recently active first. */
  3: required list<ThreadSummary> threads,
  4: required i64 takenAtMs,
  /**
   * Consistent with every delta of the user up to and including this position and with none after:
   * the device sets lastPos = pos. No delta of the user below it is missing, except one the MySQL
   * sink set aside in iris.sink-dlq (PROTOCOL.md, "Storage holes").
   */
  5: required i64 pos,
  /** The epoch of pos. */
  6: required string epoch,
}

/**
 * The user's deltas with afterPos < pos <= toPos (toPos absent or negative: up to the head). Also
 * used to repair a gap: (lastPos, prevPos].
 */
struct SyncRequest {
  // 1 (afterSeq) and 2 (toSeq): version 1, retired.
  3: optional i32 maxDeltas = 500,
  /**
   * Catch up by deltas even when the server would rather have the device take a snapshot (after a
   * ResnapshotRequired, the device may choose the deltas).
   */
  4: optional bool force = false,
  /** The epoch afterPos belongs to; another epoch is answered with RESNAPSHOT_REQUIRED. */
  5: required string epoch,
  6: required i64 afterPos,
  7: optional i64 toPos = -1,
}

/** Per thread, the highest message id of other users' messages a device has applied. */
struct DeliveredMark {
  1: required i64 threadId,
  2: required i64 upToMessageId,
}

/** The device has durably applied every delta up to and including pos. Batched: send the highest. */
struct Ack {
  // 1 (seq): version 1, retired.
  2: required i64 pos,
  3: required string epoch,
  /**
   * Delivery receipts: per thread, the highest id of the other users' messages applied since the
   * previous Ack (at most 64 threads; the bridge ignores the rest). Their senders see them as
   * DeliveryUpdate deltas. Absent: no receipts (an app may leave them out, e.g. by user choice).
   */
  4: optional list<DeliveredMark> delivered,
}

union DeviceRequestBody {
  1: DeviceCommand command,
  2: SyncRequest sync,
  3: SnapshotRequest snapshot,
  4: Ack ack,
}

/** What a device publishes on its up topic. */
struct DeviceRequest {
  /** Correlates the answer (SendResult, Snapshot, Error); chosen by the device. */
  1: required string requestId,
  2: required DeviceRequestBody body,
}

/** Where a catch-up batch was read from (DESIGN.md, "Three tiers of storage"). */
enum CatchUpTier {
  /** The bridge's memory: the newest deltas of each active user. */
  MEMORY = 1,
  /** iris.log on the brokers, read from the device's position. */
  LOG = 2,
  /** MySQL, for what the log no longer holds. */
  STORAGE = 3,
}

/**
 * Several deltas of one user, in position order, each with pos and prevPos. Pushed live (no
 * requestId, no tier), or the answer to a SyncRequest (requestId set; possibly empty).
 */
struct DeltaBatch {
  1: required list<Delta> deltas,
  // 2 (headSeq): version 1, retired.
  3: optional CatchUpTier tier,
  /** The epoch of every position in this batch; another than the device's: take a new snapshot. */
  4: required string epoch,
  /**
   * A device that could apply the batch's deltas (or, for an answer, held everything up to the
   * request's afterPos) now holds every delta of the user up to and including throughPos, which
   * may lie beyond the last delta: it sets lastPos = max(lastPos, throughPos).
   */
  5: required i64 throughPos,
  /**
   * The answer stopped before the head (at a page limit, or where the tier it came from ends):
   * ask again after throughPos. An answer without it leaves the device current.
   */
  6: optional bool more = false,
}

/** The bridge's answer to a command: accepted into the queue, or refused before it. */
struct SendResult {
  1: required string clientId,
  2: required bool accepted,
  3: optional ServerError error,
}

/** The device is too far behind; the cost of both choices, so it can choose. */
struct ResnapshotRequired {
  // 1 (afterSeq) and 2 (headSeq): version 1, retired.
  /** Deltas (and their bytes) a catch-up would transfer, -1 when not available from any tier. */
  3: required i64 catchUpDeltas,
  4: required i64 catchUpBytes,
  /** Estimated bytes of a default snapshot. */
  5: required i64 snapshotBytes,
  /** The request's afterPos. */
  6: required i64 afterPos,
}

struct TypingEvent {
  1: required i64 threadId,
  2: required i64 userId,
  3: required bool typing,
}

/**
 * This bridge does not serve the device's user: another bridge owns the user's partition of
 * iris.log (each bridge reads and pushes only its own share). Sent when a device subscribes or
 * asks to sync on a bridge that does not own its partition, and to the devices of a partition that
 * moves to another bridge (a bridge added, stopped or dead); the bridge closes the connection a
 * moment later. Reconnect to one of serverUris (the same scheme as before: tcp or ssl) and sync
 * from the position held, as after any reconnect. No serverUris: the new owner is not known yet;
 * reconnect to any bridge after a short pause.
 */
struct Redirect {
  1: required list<string> serverUris,
  /** Why, for logs. */
  2: required string reason,
  /** The user's partition of iris.log. */
  3: required i32 partition,
}

union ServerFrameBody {
  1: DeltaBatch deltas,
  2: SendResult sendResult,
  3: Snapshot snapshot,
  4: ServerError error,
  5: ResnapshotRequired resnapshotRequired,
  6: TypingEvent typing,
  7: Redirect redirect,
}

/** What the bridge publishes to a device. */
struct ServerFrame {
  /** The requestId this answers; absent for pushed deltas and typing events. */
  1: optional string requestId,
  2: required ServerFrameBody body,
}

// ---------------------------------------------------------------------------------------------
// Internal state of the streams app (state stores and their changelogs). Not seen by devices.
// ---------------------------------------------------------------------------------------------

/** One thread as the streams app knows it (store "threads", key: thread id). */
struct ThreadState {
  1: required i64 threadId,
  2: required i64 creatorUserId,
  /** Current members, in the order they joined. */
  3: required list<i64> participantUserIds,
  4: optional string name,
  /** The last message id assigned in this thread (0: none yet). */
  5: required i64 lastMessageId,
  6: required i64 createdAtMs,
  7: required i64 lastActivityMs,
  /** The clientId of the command that created the thread. */
  8: required string createdByClientId,
  /** Per member, the highest message id they marked read. */
  9: required map<i64, i64> readUpTo,
  /** Per member who sent any, the id of their last message: who a delivery receipt concerns. */
  10: optional map<i64, i64> lastSentBy,
}

/**
 * Delivery receipts of one thread (store "deliveries", key: thread id): each device's mark, and
 * those not yet sent to the senders (flushed every commands.delivery.batch.ms).
 */
struct ThreadDeliveries {
  /** Key "<userId>:<deviceId>": the highest message id that device holds. */
  1: required map<string, i64> upTo,
  /** Changed since the last flush, in the order received (one entry per device, the newest). */
  2: required list<DeviceDelivery> pending,
  /** The lowest mark the pending entries moved up from: senders above it are told. */
  3: optional i64 pendingFrom,
}

/**
 * What the streams app remembers of a recent message, to judge edits and deletes (window store
 * "messages", key: thread id and message id, kept for the longer of the edit and delete windows).
 */
struct MessageFacts {
  1: required i64 senderUserId,
  2: required i64 sentAtMs,
  3: optional bool deleted = false,
  4: optional bool hasAttachments = false,
}


// ---------------------------------------------------------------------------------------------
// Devices (iris.devices, compacted, key: "<userId>:<deviceId>")
// ---------------------------------------------------------------------------------------------

/**
 * A device allowed to connect as a user. The token is 32 random bytes shown once when the device
 * is added; only SHA-256(salt || token) is stored. (A slow password hash buys nothing against a
 * 256-bit random secret and would make every reconnect storm CPU-bound.)
 */
struct DeviceRecord {
  1: required i64 userId,
  2: required string deviceId,
  3: required binary tokenHash,
  4: required binary salt,
  5: required i64 createdAtMs,
  6: optional bool revoked = false,
}

// ---------------------------------------------------------------------------------------------
// Bridges (iris.bridges, compacted, key: bridge id)
// ---------------------------------------------------------------------------------------------

/**
 * Which partitions of iris.log a bridge owns (as a member of the consumer group iris-mqtt-bridge)
 * and where its devices connect. Written by the bridge at every change of its assignment; a
 * tombstone when it leaves the group. For one partition, the claim of the highest generation wins
 * (a dead bridge's claim stays until the group has moved its partitions).
 */
struct BridgeRoute {
  1: required string bridgeId,
  /** The MQTT listeners devices reach it at, e.g. tcp://bridge-3:1883, ssl://bridge-3:8883. */
  2: required list<string> serverUris,
  3: required list<i32> partitions,
  /** The consumer group's generation of this assignment. */
  4: required i32 generation,
  5: required i64 updatedAtMs,
}
