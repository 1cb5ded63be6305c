package io.iris.bench;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.SendMessage;
import io.iris.streams.internals.KeyByThread;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Payload files of valid commands for Kafka's stock tools: one text frame ({@code 'J'} + Thrift
 * JSON) per line, no key needed (the streams app keys unkeyed commands by their thread).
 *
 * <ul>
 *   <li>{@value #THREADS_FILE}: one CreateThread per thread, with fixed thread ids and client ids,
 *       for {@code kafka-console-producer}, which sends each line once, in order. Sending it again
 *       changes nothing.
 *   <li>{@value #SENDS_FILE}: SendMessage lines by members of those threads, client id {@value
 *       KeyByThread#ASSIGN_CLIENT_ID} (each record is its own message), for {@code
 *       kafka-producer-perf-test --payload-file}, which sends random lines as often as asked.
 * </ul>
 *
 * Every thread has exactly {@code members} members, so every send fans out to that many deltas.
 */
public final class CommandPayloads {
  public static final String THREADS_FILE = "threads.txt";
  public static final String SENDS_FILE = "sends.txt";

  /** What was written. */
  public record Written(Path threads, Path sends, int members, int sendLines, int lineBytes) {}

  private CommandPayloads() {}

  public static Written write(
      Path dir,
      long firstUser,
      int users,
      long firstThread,
      int threads,
      int members,
      int sendLines,
      int textBytes,
      long seed)
      throws IOException {
    if (members < 2 || members > users) {
      throw new IllegalArgumentException("members must be 2.." + users + ", was " + members);
    }
    Files.createDirectories(dir);
    Random random = new Random(seed);
    FrameCodec codec = FrameCodec.defaults();
    List<long[]> memberships = new ArrayList<>();
    Path threadsFile = dir.resolve(THREADS_FILE);
    try (BufferedWriter w = Files.newBufferedWriter(threadsFile, StandardCharsets.UTF_8)) {
      for (int t = 0; t < threads; t++) {
        long[] m =
            random.longs(0, users).distinct().limit(members).map(u -> firstUser + u).toArray();
        memberships.add(m);
        List<Long> others = new ArrayList<>();
        for (int i = 1; i < m.length; i++) {
          others.add(m[i]);
        }
        ClientCommand create =
            new ClientCommand(
                m[0],
                "loadgen",
                "loadgen-create-" + (firstThread + t),
                firstThread + t,
                0,
                CommandBody.createThread(new CreateThread(others).setName("load " + t)));
        w.write(codec.encodeText(create));
        w.newLine();
      }
    }
    Path sendsFile = dir.resolve(SENDS_FILE);
    int lineBytes = 0;
    try (BufferedWriter w = Files.newBufferedWriter(sendsFile, StandardCharsets.UTF_8)) {
      for (int i = 0; i < sendLines; i++) {
        int t = random.nextInt(threads);
        long[] m = memberships.get(t);
        ClientCommand send =
            new ClientCommand(
                m[random.nextInt(m.length)],
                "loadgen",
                KeyByThread.ASSIGN_CLIENT_ID,
                firstThread + t,
                0,
                CommandBody.sendMessage(new SendMessage(text(random, textBytes))));
        String line = codec.encodeText(send);
        lineBytes = Math.max(lineBytes, line.length());
        w.write(line);
        w.newLine();
      }
    }
    return new Written(threadsFile, sendsFile, members, sendLines, lineBytes);
  }

  private static final String WORDS =
      "see you at the station tonight ok sounds good running late lunch tomorrow thanks ";

  /** Plain chat text of about {@code bytes} bytes. */
  static String text(Random random, int bytes) {
    StringBuilder b = new StringBuilder(bytes);
    while (b.length() < bytes) {
      int start = random.nextInt(WORDS.length() - 10);
      b.append(WORDS, start, Math.min(WORDS.length(), start + 10));
    }
    return b.substring(0, bytes).trim();
  }
}
