package io.iris.streams.internals;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.ErrorCode;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A rejection's name is the dead-letter reason and the metric; the device sees its error code.
 * Where the code is specific, both say the same thing (it was TEXT_TOO_LARGE in iris.dlq for
 * MESSAGE_TOO_LARGE on the device); only the generic codes gather several reasons.
 */
class RejectionTest {
  private static final Set<ErrorCode> GENERIC =
      Set.of(ErrorCode.INVALID_ARGUMENT, ErrorCode.MALFORMED_FRAME);

  @Test
  void shouldNameEveryRejectionAfterItsErrorCodeUnlessTheCodeIsGeneric() {
    for (Rejection r : Rejection.values()) {
      // A version-1 frame tells the app to resnapshot; in iris.dlq it says why: a retired version.
      // An edit or delete of another user's message is UNAUTHORISED (acting for another user);
      // the rule, in iris.dlq and in CommandRejected.rule, says which.
      if (!GENERIC.contains(r.errorCode())
          && r != Rejection.RETIRED_VERSION
          && r != Rejection.NOT_THE_SENDER) {
        assertEquals(r.errorCode().name(), r.name(), "dead-letter reason of " + r.errorCode());
      }
    }
  }

  @Test
  void shouldKeepTheCodecsReasonNames() {
    for (FrameException.Reason reason : FrameException.Reason.values()) {
      Rejection r = Rejection.of(reason);
      assertEquals(reason.name(), r.name());
      assertEquals(reason.errorCode(), r.errorCode());
    }
  }
}
