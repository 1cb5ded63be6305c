package io.iris.sdk.internals;

import io.iris.protocol.thrift.Ack;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.SnapshotRequest;
import io.iris.protocol.thrift.SyncRequest;
import java.util.ArrayList;
import java.util.List;

/** A host that records what the machine asks for; the test drives time and fires the timers. */
final class RecordingHost implements SyncStateMachine.Host {
  final List<DeviceRequest> published = new ArrayList<>();
  final List<Long> wakeups = new ArrayList<>();
  final List<List<Delta>> applied = new ArrayList<>();
  final List<Snapshot> snapshots = new ArrayList<>();
  final List<ResnapshotRequired> offers = new ArrayList<>();
  boolean takeSnapshot = true;

  @Override
  public void publish(DeviceRequest request) {
    published.add(request.deepCopy());
  }

  @Override
  public void wakeAfter(long delayNanos) {
    wakeups.add(delayNanos);
  }

  @Override
  public void deltasApplied(List<Delta> deltas) {
    applied.add(List.copyOf(deltas));
  }

  @Override
  public void snapshotApplied(Snapshot snapshot) {
    snapshots.add(snapshot);
  }

  @Override
  public boolean takeSnapshot(ResnapshotRequired costs) {
    offers.add(costs);
    return takeSnapshot;
  }

  /** Forgets what was recorded so far (the set-up of a test). */
  void clear() {
    published.clear();
    wakeups.clear();
    applied.clear();
    snapshots.clear();
    offers.clear();
  }

  /** The positions handed to the app, in the order handed. */
  List<Long> appliedPositions() {
    return applied.stream().flatMap(List::stream).map(Delta::getPos).toList();
  }

  List<DeviceRequest> syncRequests() {
    return published.stream().filter(r -> r.getBody().isSetSync()).toList();
  }

  List<SyncRequest> syncs() {
    return syncRequests().stream().map(r -> r.getBody().getSync()).toList();
  }

  /** The id of the last sync request, to answer it. */
  String lastSyncId() {
    List<DeviceRequest> s = syncRequests();
    return s.get(s.size() - 1).getRequestId();
  }

  List<DeviceRequest> snapshotRequests() {
    return published.stream().filter(r -> r.getBody().isSetSnapshot()).toList();
  }

  List<SnapshotRequest> snapshotBodies() {
    return snapshotRequests().stream().map(r -> r.getBody().getSnapshot()).toList();
  }

  List<Ack> acks() {
    return published.stream()
        .filter(r -> r.getBody().isSetAck())
        .map(r -> r.getBody().getAck())
        .toList();
  }

  List<DeviceCommand> commands() {
    return published.stream()
        .filter(r -> r.getBody().isSetCommand())
        .map(r -> r.getBody().getCommand())
        .toList();
  }

  List<String> commandClientIds() {
    return commands().stream().map(DeviceCommand::getClientId).toList();
  }
}
