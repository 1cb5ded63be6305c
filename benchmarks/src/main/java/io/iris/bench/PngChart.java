package io.iris.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/** Horizontal bar charts as PNG files, drawn with the JDK alone (headless). */
final class PngChart {
  /** One bar: its label, value, colour and the text written after it. */
  record Bar(String label, double value, Color colour, String text) {}

  static final Color PUSH = new Color(0x1f77b4);
  static final Color PULL = new Color(0xd62728);
  static final Color REFERENCE = new Color(0x7f7f7f);
  static final Color TARGET = new Color(0x2ca02c);

  private PngChart() {}

  /**
   * Writes the chart; {@code target} (NaN for none) is drawn as a dashed vertical line named {@code
   * targetLabel}.
   */
  static void bars(
      Path file, String title, String unit, List<Bar> bars, double target, String targetLabel)
      throws IOException {
    System.setProperty("java.awt.headless", "true");
    int labelW = 330;
    int plotW = 420;
    int rowH = 30;
    int top = 50;
    int w = labelW + plotW + 140;
    int h = top + rowH * bars.size() + 50;
    double max = Double.isNaN(target) ? 0 : target;
    for (Bar b : bars) {
      max = Math.max(max, b.value());
    }
    max = max <= 0 ? 1 : max * 1.05;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(
        RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, h);
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    g.drawString(title, 10, 25);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    for (int i = 0; i < bars.size(); i++) {
      Bar b = bars.get(i);
      int y = top + i * rowH;
      g.setColor(Color.DARK_GRAY);
      g.drawString(b.label(), 10, y + 18);
      int len = (int) Math.round(plotW * b.value() / max);
      g.setColor(b.colour());
      g.fillRect(labelW, y + 5, Math.max(1, len), rowH - 10);
      g.setColor(Color.BLACK);
      g.drawString(b.text(), labelW + len + 6, y + 18);
    }
    g.setColor(Color.GRAY);
    g.drawLine(labelW, top, labelW, top + rowH * bars.size());
    g.drawString("0", labelW - 3, h - 28);
    g.drawString(String.format("%,.0f %s", max, unit), labelW + plotW - 40, h - 28);
    if (!Double.isNaN(target)) {
      int x = labelW + (int) Math.round(plotW * target / max);
      g.setColor(TARGET);
      g.setStroke(
          new BasicStroke(
              2, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0));
      g.drawLine(x, top - 5, x, top + rowH * bars.size() + 5);
      g.drawString(targetLabel, Math.min(x + 4, w - 200), h - 12);
    }
    g.dispose();
    ImageIO.write(img, "png", file.toFile());
  }
}
