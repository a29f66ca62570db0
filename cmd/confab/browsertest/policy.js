// LayerChoicePolicy is a VideoDownlinkBandwidthPolicy (the SDK's public
// interface for choosing remote videos) written by the application, as the
// SDK allows: it subscribes to one layer of every remote video group, the
// lowest or the highest, as the test tells it. Switching between layers of
// the same groups is what the stock SDK turns into REMOTE_VIDEO_UPDATE
// frames without renegotiation.
export class LayerChoicePolicy {
  constructor(selfAttendeeId, IdSet) {
    this.self = selfAttendeeId;
    this.IdSet = IdSet;
    this.which = 'high';
    this.index = null;
    this.chosen = new IdSet();
  }

  reset() {
    this.index = null;
    this.chosen = new this.IdSet();
  }

  updateIndex(index) {
    this.index = index;
  }

  updateMetrics() {}

  prefer(which) {
    this.which = which;
  }

  wantsResubscribe() {
    return !this.compute().equal(this.chosen);
  }

  chooseSubscriptions() {
    this.chosen = this.compute();
    return this.chosen.clone();
  }

  last() {
    return this.chosen.array();
  }

  // One stream per group: the lowest or highest max bitrate.
  compute() {
    const ids = [];
    if (this.index) {
      const groups = new Map();
      for (const d of this.index.remoteStreamDescriptions()) {
        if (d.attendeeId === this.self) continue;
        const g = groups.get(d.groupId) || [];
        g.push(d);
        groups.set(d.groupId, g);
      }
      for (const g of groups.values()) {
        g.sort((a, b) => a.maxBitrateKbps - b.maxBitrateKbps || a.streamId - b.streamId);
        ids.push((this.which === 'low' ? g[0] : g[g.length - 1]).streamId);
      }
    }
    return new this.IdSet(ids);
  }
}
