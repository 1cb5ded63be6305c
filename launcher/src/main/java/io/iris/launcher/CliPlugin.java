package io.iris.launcher;

import java.util.Map;

/**
 * Further {@code iris} subcommands from a jar beside the launcher's, found with {@link
 * java.util.ServiceLoader} ({@code META-INF/services/io.iris.launcher.CliPlugin}). The benchmarks
 * add {@code iris bench …} and {@code iris loadgen} this way, so that they are not part of the
 * product jar and the launcher does not depend on them.
 */
public interface CliPlugin {
  /** Subcommand name to a picocli-annotated command object. */
  Map<String, Object> subcommands();
}
