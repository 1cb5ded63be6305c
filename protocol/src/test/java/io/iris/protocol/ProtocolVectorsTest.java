package io.iris.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.ServerFrame;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.thrift.TBase;
import org.junit.jupiter.api.Test;

/**
 * The test vectors of docs/PROTOCOL.md, checked against the codec: each decodes to what the
 * document says it means, and what this version can write encodes back into the same bytes. A
 * client written from the document alone can trust them.
 */
class ProtocolVectorsTest {
  private static final Path DOC = Path.of("..", "docs", "PROTOCOL.md");
  private static final Map<String, Supplier<? extends TBase<?, ?>>> STRUCTS =
      Map.of("DeviceRequest", DeviceRequest::new, "ServerFrame", ServerFrame::new);

  private record Vector(byte[] frame, String meaning) {}

  private static List<Vector> vectors() throws IOException {
    String doc = Files.readString(DOC);
    String section = doc.substring(doc.indexOf("## Test vectors"));
    List<Vector> out = new ArrayList<>();
    String[] lines = section.split("\n");
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].startsWith("hex: ")) {
        byte[] frame = HexFormat.of().parseHex(lines[i].substring(5).replace(" ", ""));
        out.add(new Vector(frame, lines[i + 1]));
      }
    }
    return out;
  }

  @Test
  void everyVectorMeansWhatTheDocumentSays() throws IOException {
    List<Vector> vectors = vectors();
    assertTrue(vectors.size() >= 6, vectors.size() + " vectors found in " + DOC);
    int written = 0;
    for (Vector v : vectors) {
      String struct = v.meaning().substring(0, v.meaning().indexOf('('));
      TBase<?, ?> decoded = FrameCodec.defaults().decode(v.frame(), STRUCTS.get(struct));
      assertEquals(v.meaning(), decoded.toString());
      if (!FrameCodec.holdsUnknownMember(decoded)) {
        assertArrayEquals(v.frame(), FrameCodec.defaults().encode(decoded), v.meaning());
        written++;
      }
    }
    assertTrue(written >= 5, "most vectors are written back byte for byte");
  }

  @Test
  void theNewerServersVectorIsWhatANewerWriterSends() throws IOException {
    byte[] newer = NewerWriterFrames.pushOfAnUnknownKind(1250, 1201);
    assertTrue(
        vectors().stream().anyMatch(v -> java.util.Arrays.equals(v.frame(), newer)),
        "the document shows the frame a newer writer sends, byte for byte: "
            + HexFormat.ofDelimiter(" ").formatHex(newer));
  }
}
