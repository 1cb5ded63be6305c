package io.iris.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bench.Conversations.Event;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ConversationsTest {
  private static final long HOUR = 3_600_000;

  @Test
  void theSameSeedGivesTheSameSession() {
    assertEquals(Conversations.generate(3, HOUR, 5), Conversations.generate(3, HOUR, 5));
    assertNotEquals(Conversations.generate(3, HOUR, 5), Conversations.generate(4, HOUR, 5));
  }

  @Test
  void conversationsAreBurstsOnOneThreadSeparatedByIdleMinutes() {
    for (long seed = 0; seed < 20; seed++) {
      List<Event> events = Conversations.generate(seed, HOUR, 5);
      Event last = null;
      for (Event e : events) {
        assertTrue(e.atMs() >= 0 && e.atMs() < HOUR);
        if (last != null) {
          assertTrue(e.atMs() >= last.atMs(), "in time order");
          if (e.conversation() == last.conversation()) {
            assertEquals(last.thread(), e.thread(), "one thread per conversation");
            assertTrue(e.atMs() - last.atMs() >= Conversations.MIN_THINK_MS);
          } else {
            assertEquals(last.conversation() + 1, e.conversation());
            assertTrue(
                e.atMs() - last.atMs() >= Conversations.MIN_GAP_MS,
                "an idle gap longer than GPRS's 44 s READY timer");
          }
        }
        assertTrue(e.thread() >= 0 && e.thread() < 5);
        assertTrue(e.text().length() >= 5 && e.text().length() <= 80, e.text());
        last = e;
      }
      var byConversation = events.stream().collect(Collectors.groupingBy(Event::conversation));
      byConversation.forEach(
          (c, list) -> {
            assertTrue(list.size() <= Conversations.MAX_MESSAGES);
            if (list.size() >= Conversations.MIN_MESSAGES) { // not cut by the end of the run
              assertTrue(list.stream().anyMatch(Event::send), "the person sends in each");
              assertTrue(list.get(list.size() - 1).atMs() - list.get(0).atMs() < 180_000);
            }
          });
    }
  }

  @Test
  void anHourHasAboutTwentyConversationsOfBothSides() {
    int conversations = 0;
    int sends = 0;
    int incoming = 0;
    for (long seed = 0; seed < 50; seed++) {
      List<Event> events = Conversations.generate(seed, HOUR, 5);
      conversations += events.get(events.size() - 1).conversation() + 1;
      for (Event e : events) {
        if (e.send()) {
          sends++;
        } else {
          incoming++;
        }
      }
    }
    double perHour = conversations / 50.0;
    assertTrue(perHour > 14 && perHour < 22, perHour + " conversations an hour");
    assertTrue(sends > 0.35 * (sends + incoming) && sends < 0.65 * (sends + incoming));
  }
}
