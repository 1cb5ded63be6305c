package io.iris.systemtests;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module rules of docs/architecture.md, checked on the compiled main classes of every module
 * (this module has them all on its class path). A rule that fails names the offending dependency.
 */
class ArchitectureTest {
  private static JavaClasses main;

  @BeforeAll
  static void importMainClasses() {
    main =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            // protocol's test-jar (FrameMutator) arrives as a jar: test code, not a module's.
            .withImportOption(location -> !location.contains("-tests.jar"))
            .importPackages("io.iris");
  }

  @Test
  void shouldSeeEveryModule() {
    // In `mvn verify` the other modules arrive as jars, in `mvn test` as class directories: the
    // rules below must see them either way, or they would pass on nothing.
    for (String c :
        java.util.List.of(
            "io.iris.protocol.FrameCodec",
            "io.iris.topics.Topics",
            "io.iris.embedded.EmbeddedKafka",
            "io.iris.streams.IrisStreamsApp",
            "io.iris.connect.IrisDeltaConverter",
            "io.iris.storage.SnapshotService",
            "io.iris.bridge.IrisBridge",
            "io.iris.sdk.IrisDevice",
            "io.iris.launcher.IrisCli",
            "io.iris.testkit.TestStacks",
            "io.iris.bench.BenchCommands",
            "io.iris.cluster.Cluster")) {
      org.junit.jupiter.api.Assertions.assertTrue(main.contain(c), c + " was not imported");
    }
  }

  @Test
  void productModulesShouldNeverDependOnTestkitBenchmarksOrSystemTests() {
    noClasses()
        .that()
        .resideInAnyPackage(
            "io.iris.protocol..",
            "io.iris.topics..",
            "io.iris.embedded..",
            "io.iris.streams..",
            "io.iris.connect..",
            "io.iris.storage..",
            "io.iris.bridge..",
            "io.iris.sdk..",
            "io.iris.launcher..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.iris.testkit..", "io.iris.bench..", "io.iris.cluster..", "io.iris.systemtests..")
        .check(main);
  }

  @Test
  void theDeviceProtocolShouldDependOnThriftAlone() {
    classes()
        .that()
        .resideInAPackage("io.iris.protocol..")
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage(
            "io.iris.protocol..", "org.apache.thrift..", "java..", "javax.annotation..")
        .check(main);
  }

  @Test
  void theDeviceSdkShouldNeedNoKafka() {
    classes()
        .that()
        .resideInAPackage("io.iris.sdk..")
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage(
            "io.iris.sdk..",
            "io.iris.protocol..",
            "org.apache.thrift..",
            "org.eclipse.paho..",
            "org.slf4j..",
            "java..",
            "javax.net..")
        .check(main);
  }

  @Test
  void theKafkaContractShouldDependOnTheDeviceProtocolOnly() {
    noClasses()
        .that()
        .resideInAPackage("io.iris.topics..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.iris.embedded..",
            "io.iris.streams..",
            "io.iris.connect..",
            "io.iris.storage..",
            "io.iris.bridge..",
            "io.iris.sdk..",
            "io.iris.launcher..")
        .check(main);
  }

  @Test
  void internalsShouldStayInsideTheirModule() {
    for (String module : java.util.List.of("io.iris.streams", "io.iris.sdk")) {
      noClasses()
          .that()
          .resideOutsideOfPackage(module + "..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage(module + ".internals..")
          .allowEmptyShould(true)
          .check(main);
    }
  }

  @Test
  void theBridgeDirectionsShouldBeReachedOnlyByTheBridgeAndTheLauncher() {
    noClasses()
        .that()
        .resideOutsideOfPackages("io.iris.bridge..", "io.iris.launcher..")
        .and()
        .resideInAnyPackage(
            "io.iris.protocol..",
            "io.iris.topics..",
            "io.iris.embedded..",
            "io.iris.streams..",
            "io.iris.connect..",
            "io.iris.storage..",
            "io.iris.sdk..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.iris.bridge.edge..", "io.iris.bridge.up..", "io.iris.bridge.down..")
        .check(main);
  }

  @Test
  void theEdgeShouldNotReachIntoTheDirectionsItCarries() {
    noClasses()
        .that()
        .resideInAPackage("io.iris.bridge.edge..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.iris.bridge.up..", "io.iris.bridge.down..")
        .check(main);
  }
}
