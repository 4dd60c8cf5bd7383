//! The environments of one function: warm ones waiting (most recently used first, so
//! the warmest is reused and the coldest ages out), and a count of all that exist,
//! bounded by the function's concurrency.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::environment::Environment;

/// What a caller gets when it asks for an environment.
pub enum Acquired {
    /// A warm environment, now reserved for the caller.
    Warm(Arc<Environment>),
    /// Room for a new environment: the caller starts one (and must `release` or
    /// `forget_slot`).
    Slot { generation: u64 },
    /// The function is at its concurrency limit.
    Full,
}

#[derive(Default)]
struct State {
    idle: Vec<Arc<Environment>>,
    /// Every environment that exists or is starting, busy or idle.
    live: usize,
    all: HashMap<u64, Arc<Environment>>,
    /// Environments of older generations are not reused.
    generation: u64,
}

#[derive(Default)]
pub struct Pool {
    state: Mutex<State>,
}

impl Pool {
    /// Reserves a warm environment, or room for a new one when fewer than `limit` exist.
    pub fn acquire(&self, limit: usize) -> Acquired {
        let Ok(mut s) = self.state.lock() else {
            return Acquired::Full;
        };
        while let Some(env) = s.idle.pop() {
            if env.is_dead() || env.generation != s.generation {
                env.kill();
                s.all.remove(&env.id);
                s.live = s.live.saturating_sub(1);
                continue;
            }
            return Acquired::Warm(env);
        }
        if s.live < limit {
            s.live += 1;
            Acquired::Slot {
                generation: s.generation,
            }
        } else {
            Acquired::Full
        }
    }

    /// Records a newly started environment in the slot `acquire` reserved.
    pub fn started(&self, env: &Arc<Environment>) {
        if let Ok(mut s) = self.state.lock() {
            s.all.insert(env.id, env.clone());
        }
    }

    /// Gives back a slot whose environment never started.
    pub fn forget_slot(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.live = s.live.saturating_sub(1);
        }
    }

    /// Returns an environment after an invocation: kept warm when it can run another
    /// of the current definition, otherwise killed. Returns whether it was dropped.
    pub fn release(&self, env: Arc<Environment>, reusable: bool) -> bool {
        let Ok(mut s) = self.state.lock() else {
            env.kill();
            return true;
        };
        if reusable && !env.is_dead() && env.generation == s.generation {
            s.idle.push(env);
            false
        } else {
            env.kill();
            s.all.remove(&env.id);
            s.live = s.live.saturating_sub(1);
            true
        }
    }

    /// A new definition: idle environments are killed now, busy ones when they finish.
    pub fn retire(&self) -> usize {
        let Ok(mut s) = self.state.lock() else {
            return 0;
        };
        s.generation += 1;
        let idle = std::mem::take(&mut s.idle);
        let n = idle.len();
        for env in idle {
            env.kill();
            s.all.remove(&env.id);
        }
        s.live = s.live.saturating_sub(n);
        n
    }

    /// Kills every environment, busy or not (function deleted, server stopping).
    pub fn kill_all(&self) -> usize {
        let Ok(mut s) = self.state.lock() else {
            return 0;
        };
        s.generation += 1;
        s.idle.clear();
        let n = s.all.len();
        for env in s.all.values() {
            env.kill();
        }
        s.all.clear();
        s.live = 0;
        n
    }

    /// Kills environments idle for longer than `idle_for`; returns how many.
    pub fn reap(&self, idle_for: Duration, now: Instant) -> usize {
        let Ok(mut s) = self.state.lock() else {
            return 0;
        };
        let before = s.idle.len();
        let mut kept = Vec::with_capacity(before);
        let mut dropped = Vec::new();
        for env in std::mem::take(&mut s.idle) {
            let last = env.last_used.lock().map(|t| *t).unwrap_or(now);
            if env.is_dead() || now.saturating_duration_since(last) >= idle_for {
                dropped.push(env);
            } else {
                kept.push(env);
            }
        }
        s.idle = kept;
        for env in &dropped {
            env.kill();
            s.all.remove(&env.id);
        }
        s.live = s.live.saturating_sub(dropped.len());
        dropped.len()
    }

    /// (environments alive, of which idle)
    pub fn counts(&self) -> (usize, usize) {
        self.state
            .lock()
            .map(|s| (s.live, s.idle.len()))
            .unwrap_or((0, 0))
    }
}
