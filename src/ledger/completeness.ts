import { imageCapability } from './nodeKinds';
import { reportsImages, type EvidenceOptions } from './evidence';
import type { ItemState } from './state';
import type { NodeFacts } from './types';

/*
 * `complete` is derived, never set: an item is complete when every node known to have run, and able to make an
 * image, is accounted for by positive evidence — its returned names all confirmed, or an exhaustive listing of the
 * boards it could write to. An empty or missing answer is never evidence that nothing was made.
 */

/** An exhaustive listing of the item's boards was done (or the board diff of a run's own board). */
export function listingCovered(s: ItemState): boolean {
  return [...s.tried.values()].some((t) => t.exhaustive) && (s.tried.has('listing') || s.tried.has('board_diff'));
}

/** A node that asked for a board but returned no image: a custom node may have saved without returning it. */
function mayHideImages(n: NodeFacts): boolean {
  return n.requestedBoard !== null && n.requestedBoard !== 'none' && imageCapability(n.nodeType) !== 'no';
}

function madeSomething(s: ItemState, n: NodeFacts): boolean {
  for (const f of s.images.values()) if (f.preparedId === n.preparedId) return true;
  return false;
}

/** Why a node is not accounted for; null when it is. */
export function nodeGap(s: ItemState, n: NodeFacts, opts: EvidenceOptions): string | null {
  const name = n.sourceId ?? n.preparedId;
  if (!n.ran || n.failed || n.video || !reportsImages(n, opts)) return null;
  if (n.outputs !== null) {
    if (n.outputs.length === 0 && n.completed && mayHideImages(n) && !listingCovered(s)) {
      return `node ${name} asked for board ${n.requestedBoard ?? '?'} but returned no image`;
    }
    return null;
  }
  // A failed item ran its nodes one at a time: a node that started and never completed is the one that failed.
  if (!n.completed && s.terminal?.status === 'failed') return null;
  if (imageCapability(n.nodeType) === 'no' && !mayHideImages(n)) return null;
  // Still running when its item was canceled, as far as is known: it may save its image after any listing was read.
  if (!n.completed && s.terminal?.status === 'canceled' && !madeSomething(s, n)) {
    return `node ${name} was running when the item was canceled and its output could not be confirmed`;
  }
  if (listingCovered(s)) {
    // A node of an image-making type that completed made an image: a listing that found none of it (deleted, or on
    // a board the item did not ask for) accounts for nothing.
    if (n.completed && imageCapability(n.nodeType) === 'yes' && !madeSomething(s, n)) return `node ${name} completed but none of its images was found`;
    return null;
  }
  return `the output of node ${name} is unknown`;
}

/** Why an image is not accounted for; null when it is. */
function imageGap(s: ItemState, name: string): string | null {
  const f = s.images.get(name)!;
  switch (f.state) {
    case 'gone':
      return `image ${name} is gone (deleted before it could be read)`;
    case 'failed':
      return `image ${name} could not be read: ${f.error ?? 'unknown error'}`;
    case 'claimed':
      return `image ${name} was never confirmed`;
    case 'rejected':
      return null;
    case 'new':
    case 'cached': {
      // Servers 4.0–4.2.3 keep no mapping from execution copies to workflow nodes; only events tell.
      const node = f.preparedId === null ? undefined : s.nodes.get(f.preparedId);
      return node?.sourceId || f.record?.node_id ? null : `the workflow node that made ${name} is unknown`;
    }
  }
}

/**
 * A finished item of which no node is known to have run although its graph could save images: the events were
 * missed and the server kept no session to tell (or it was never written). Only a listing can say what it made,
 * and not which node made it.
 */
function unknownRun(s: ItemState): string | null {
  if (s.terminal?.status !== 'completed' || s.sessionAuthoritative || s.graphSavers.size === 0) return null;
  if ([...s.nodes.values()].some((n) => n.ran)) return null;
  return 'no record of which nodes ran (events missed, and the server keeps no results for it)';
}

/** Every reason the item is not complete; empty when it is. */
export function gaps(s: ItemState, opts: EvidenceOptions): string[] {
  const out = [...s.problems];
  for (const n of s.nodes.values()) {
    const g = nodeGap(s, n, opts);
    if (g !== null) out.push(g);
  }
  for (const name of s.images.keys()) {
    const g = imageGap(s, name);
    if (g !== null) out.push(g);
  }
  const u = unknownRun(s);
  if (u !== null) out.push(u);
  return out;
}

/** Nodes (or the whole run) that only a listing could still account for. */
export function needsListing(s: ItemState, opts: EvidenceOptions): boolean {
  if (listingCovered(s)) return false;
  if (s.gone || unknownRun(s) !== null) return true;
  for (const n of s.nodes.values()) if (nodeGap(s, n, opts) !== null) return true;
  return false;
}
