package io.iris.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** A self-contained HTML page with one SVG line chart: for benchmark series over time. */
final class HtmlChart {
  /** One line: its name, colour and y values (one per x). */
  record Series(String name, String colour, double[] values) {}

  private HtmlChart() {}

  static Path write(Path file, String title, String xLabel, String table, List<Series> series)
      throws IOException {
    int w = 800;
    int h = 360;
    int pad = 50;
    int n = series.get(0).values().length;
    double max = 1;
    for (Series s : series) {
      for (double v : s.values()) {
        max = Math.max(max, v);
      }
    }
    StringBuilder svg = new StringBuilder();
    svg.append(
        String.format(
            Locale.ROOT, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d'>", w, h));
    svg.append(
        String.format(
            Locale.ROOT,
            "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>",
            pad,
            h - pad,
            w - pad,
            h - pad));
    svg.append(
        String.format(
            Locale.ROOT,
            "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>",
            pad,
            pad,
            pad,
            h - pad));
    for (int i = 0; i <= 4; i++) {
      double v = max * i / 4;
      int y = (int) (h - pad - (h - 2.0 * pad) * i / 4);
      svg.append(
          String.format(Locale.ROOT, "<text x='2' y='%d' font-size='11'>%,.0f</text>", y + 4, v));
    }
    svg.append(
        String.format(
            Locale.ROOT,
            "<text x='%d' y='%d' font-size='12'>%s (0..%d)</text>",
            w / 2 - 40,
            h - 12,
            xLabel,
            n - 1));
    int legendY = 20;
    for (Series s : series) {
      StringBuilder points = new StringBuilder();
      for (int i = 0; i < n; i++) {
        double x = pad + (w - 2.0 * pad) * i / Math.max(1, n - 1);
        double y = h - pad - (h - 2.0 * pad) * s.values()[i] / max;
        points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
      }
      svg.append("<polyline fill='none' stroke-width='2' stroke='")
          .append(s.colour())
          .append("' points='")
          .append(points)
          .append("'/>");
      svg.append(
          String.format(
              Locale.ROOT,
              "<text x='%d' y='%d' font-size='12' fill='%s'>%s</text>",
              w - 260,
              legendY,
              s.colour(),
              s.name()));
      legendY += 16;
    }
    svg.append("</svg>");
    String html =
        "<!doctype html><html><head><meta charset='utf-8'><title>"
            + title
            + "</title>"
            + "<style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse}"
            + " td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>"
            + "<h1>"
            + title
            + "</h1>"
            + svg
            + "<pre>"
            + table
            + "</pre></body></html>";
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, html, StandardCharsets.UTF_8);
    return file.toAbsolutePath();
  }
}
