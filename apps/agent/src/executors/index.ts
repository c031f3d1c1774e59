import type { Action, ActionType, Observation } from '@keel/ha-core';
import type { Runtime } from '../runtime.ts';
import { lockExecutors } from './lock.ts';
import { lifecycleExecutors } from './lifecycle.ts';
import { roleExecutors } from './role.ts';
import { syncExecutors } from './sync.ts';
import { failsafeExecutors } from './failsafe.ts';

export type Executor<T extends ActionType> = (
  rt: Runtime,
  action: Extract<Action, { type: T }>,
  obs: Observation,
) => Promise<void>;

export type ExecutorMap = { [T in ActionType]: Executor<T> };

/** Every action decide() can emit has exactly one executor: a missing one is a compile error. */
export const executors = {
  ...lockExecutors,
  ...lifecycleExecutors,
  ...roleExecutors,
  ...syncExecutors,
  ...failsafeExecutors,
} satisfies ExecutorMap;

export async function execute(rt: Runtime, action: Action, obs: Observation): Promise<void> {
  const fn = executors[action.type] as Executor<typeof action.type>;
  await fn(rt, action as never, obs);
}

/** An action that did not achieve its goal (e.g. the lock was taken by someone else). */
export class ActionFailed extends Error {}
