package io.iris.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

class ResultsBenchmarkTest {
  @Test
  void wilsonIntervalsMatchTheTextbookValues() {
    // Values from the closed form (z = 1.96), computed independently.
    assertArrayEquals(new double[] {0.0, 0.03887}, ResultsBenchmark.wilson(0, 95), 1e-4);
    assertArrayEquals(new double[] {0.02269, 0.11735}, ResultsBenchmark.wilson(5, 95), 1e-4);
    assertArrayEquals(new double[] {0.40383, 0.59617}, ResultsBenchmark.wilson(50, 100), 1e-4);
    assertArrayEquals(new double[] {0.0, 1.0}, ResultsBenchmark.wilson(0, 0), 0);
  }
}
