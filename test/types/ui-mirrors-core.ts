// The dashboard library (`ui/projects/levels-ui`) repeats the payload's shapes instead of importing `@snap/core`: it is
// published on its own and must not pull in the engine. This file makes the copy safe: `npm run typecheck` (run by
// `npm test`) fails as soon as a field is added, removed or retyped on either side. Nothing here runs.
import type * as Core from '@snap/core';
import type * as Ui from '../../ui/projects/levels-ui/src/lib/types';

/** true only when A and B are the same type (not merely assignable one way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Check<T extends true> = T;

/** The core widens barrier.state to a union the UI reads as a string; everything else must be identical. */
type CoreSignalAsUi = Omit<Core.LevelSignal, 'barrier'> & { barrier: Omit<Core.LevelSignal['barrier'], 'state'> & { state: string } };
type Flat<T> = { [K in keyof T]: T[K] extends object ? (T[K] extends null ? T[K] : Flat<T[K]>) : T[K] };

export type UiMirrorsCore = [
  Check<Same<Ui.LevelKind, Core.LevelKind>>,
  Check<Same<Ui.SignalName, Core.SignalName>>,
  Check<Same<Ui.LevelEvent, Core.LevelEvent>>,
  Check<Same<Flat<Ui.LevelSignal>, Flat<CoreSignalAsUi>>>,
  Check<Same<Flat<Omit<Ui.LevelPhysicsPayload, 'levels' | 'events'>>, Flat<Omit<Core.LevelPhysicsPayload, 'levels' | 'events'>>>>,
];
