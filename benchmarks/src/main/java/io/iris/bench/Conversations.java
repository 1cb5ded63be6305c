package io.iris.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * What one person does with the app during a paired run of part 3: conversations separated by idle
 * gaps of minutes, not a steady message a second. A person and a friend exchange a few messages on
 * one thread within a minute or so, then the phone lies idle long enough for the radio to go to
 * sleep (GPRS's READY timer is 44 s, 3G's tail 17 s) and for a NAT death to catch a connection
 * idle; then the next conversation. A deterministic function of the seed, so that both phones of a
 * pair, and a rerun, live the same session.
 *
 * <ul>
 *   <li>the first conversation starts within {@link #FIRST_WITHIN_MS} of the start; after each, an
 *       idle gap of {@link #MIN_GAP_MS} plus an exponential part of mean {@link #MEAN_EXTRA_GAP_MS}
 *       (on average 3 minutes in all);
 *   <li>a conversation has {@link #MIN_MESSAGES} to {@link #MAX_MESSAGES} messages on one thread,
 *       at least one of them the person's; either side may start it, and each next message comes
 *       from the other side with probability {@link #TURN_PROBABILITY} (people answer each other,
 *       sometimes twice in a row), {@link #MIN_THINK_MS} plus an exponential part of mean {@link
 *       #MEAN_EXTRA_THINK_MS} after the last (typing time);
 *   <li>messages are 10 to 80 characters of chat text.
 * </ul>
 *
 * These figures are this project's choice, not measured usage: they make bursts and gaps, which is
 * what the link model needs to show its radio sleep and NAT deaths.
 */
final class Conversations {
  static final long FIRST_WITHIN_MS = 30_000;
  static final long MIN_GAP_MS = 60_000;
  static final double MEAN_EXTRA_GAP_MS = 120_000;
  static final int MIN_MESSAGES = 4;
  static final int MAX_MESSAGES = 12;
  static final double TURN_PROBABILITY = 0.7;
  static final long MIN_THINK_MS = 2_000;
  static final double MEAN_EXTRA_THINK_MS = 6_000;

  /**
   * One message: the person's ({@code send}) or the friend's, {@code atMs} after the start.
   *
   * @param conversation the conversation's index, from 0: a session of the person
   * @param thread which of the person's threads, from 0
   */
  record Event(long atMs, boolean send, int conversation, int thread, String text) {}

  private Conversations() {}

  /** The messages of a run of {@code lengthMs}, in time order; none at or after its end. */
  static List<Event> generate(long seed, long lengthMs, int threads) {
    Random random = new Random(seed);
    List<Event> events = new ArrayList<>();
    double t = random.nextDouble() * FIRST_WITHIN_MS;
    for (int conversation = 0; t < lengthMs; conversation++) {
      int thread = random.nextInt(threads);
      int messages = MIN_MESSAGES + random.nextInt(MAX_MESSAGES - MIN_MESSAGES + 1);
      boolean send = random.nextBoolean();
      boolean sent = false;
      for (int m = 0; m < messages; m++) {
        if (m > 0) {
          t += MIN_THINK_MS + exp(random, MEAN_EXTRA_THINK_MS);
          if (random.nextDouble() < TURN_PROBABILITY) {
            send = !send;
          }
        }
        if (m == messages - 1 && !sent) {
          send = true; // every conversation has a send of the person's: a session
        }
        sent |= send;
        String text = CommandPayloads.text(random, 10 + random.nextInt(71));
        if (t < lengthMs) {
          events.add(new Event((long) t, send, conversation, thread, text));
        }
      }
      t += MIN_GAP_MS + exp(random, MEAN_EXTRA_GAP_MS);
    }
    return events;
  }

  private static double exp(Random random, double mean) {
    return -Math.log(1 - random.nextDouble()) * mean;
  }
}
