package io.iris.bridge.edge;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;

/** The WARN and ERROR lines logged while open, from any logger. */
final class LogCapture implements AutoCloseable {
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final AbstractAppender appender =
      new AbstractAppender("capture", null, null, true, null) {
        @Override
        public void append(LogEvent e) {
          lines.add(
              e.getLevel()
                  + " "
                  + e.getLoggerName()
                  + " - "
                  + e.getMessage().getFormattedMessage()
                  + (e.getThrown() == null ? "" : " (" + e.getThrown() + ")"));
        }
      };

  LogCapture() {
    appender.start();
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    // Every logger of log4j2-test.xml passes its events on to the root's appenders.
    ctx.getConfiguration().getRootLogger().addAppender(appender, Level.WARN, null);
    ctx.updateLoggers();
  }

  List<String> lines() {
    return List.copyOf(lines);
  }

  @Override
  public void close() {
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    ctx.getConfiguration().getRootLogger().removeAppender(appender.getName());
    ctx.updateLoggers();
    appender.stop();
  }
}
