package io.iris.sdk;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The test vectors of docs/PROTOCOL.md. The protocol module's ProtocolVectorsTest checks that each
 * means what the document says; the SDK's tests check that what the device sends and reads is what
 * the document shows, so that a client written from the document talks like this one.
 */
public final class DocVectors {
  private static final Path DOC = Path.of("..", "docs", "PROTOCOL.md");

  private DocVectors() {}

  /** One vector: the frame, and the line under it saying what it means. */
  public record Vector(byte[] frame, String meaning) {}

  /** The vectors whose meaning contains {@code text}, in the document's order. */
  public static List<Vector> containing(String text) {
    String doc;
    try {
      doc = Files.readString(DOC);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String[] lines = doc.substring(doc.indexOf("## Test vectors")).split("\n");
    List<Vector> out = new ArrayList<>();
    for (int i = 0; i + 1 < lines.length; i++) {
      if (lines[i].startsWith("hex: ") && lines[i + 1].contains(text)) {
        out.add(
            new Vector(
                HexFormat.of().parseHex(lines[i].substring(5).replace(" ", "")), lines[i + 1]));
      }
    }
    return out;
  }

  /** A frame as the document writes it: "hex: 02 18 ...". */
  public static String hex(byte[] frame) {
    return "hex: " + HexFormat.ofDelimiter(" ").formatHex(frame);
  }
}
