//! Login throttling and lockout as a pure state machine over plain integers.
//!
//! One [`Throttle`] exists per thing being guessed against: an account ([`Policy::ACCOUNT`]) or a
//! client address ([`Policy::IP`]). The store keeps its fields as integers and hands them back
//! with the current time; this module only decides. It never reads a clock, never does I/O, and
//! never panics or overflows on any stored value, so a corrupted row can make a throttle wrong
//! but can never crash a log-in.
//!
//! Per attempt, the caller asks [`Throttle::locked_for_s`] first and refuses without checking the
//! password while it is `Some`; otherwise it checks the password, calls
//! [`Throttle::register_failure`] or [`Throttle::register_success`], and stores the result.
//! Reading, deciding and writing belong in one transaction (or under a row lock), or two
//! concurrent failures could both be counted as the fourth.
//!
//! A lock must not become a weapon against the account's owner. A failure while locked is
//! therefore ignored: it neither extends the lock nor counts toward the next one. An attacker
//! hammering an account cannot keep its owner out forever; the owner can always try again when
//! the lock ends, and the attacker gets only `failures_before_lock` guesses per lock, each lock
//! longer than the last.

/// How many failures start a lockout, and how long lockouts last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Failures within one window that start a lockout.
    pub failures_before_lock: u32,
    /// How long a window lasts, counted from its first failure.
    pub window_s: u64,
    /// How long the first lockout lasts.
    pub first_lock_s: u64,
    /// Each further lockout lasts this many times the one before; values below 1 count as 1.
    pub lock_growth: u32,
    /// No lockout lasts longer than this.
    pub lock_s_max: u64,
    /// After this long without a failure (counted from the end of the last lock), earlier
    /// lockouts are forgotten and the next lockout is a first one again.
    pub forgive_after_s: u64,
}

impl Policy {
    /// Per account: five failures within 15 minutes lock it for a minute, then 2, 4, 8 … minutes,
    /// at most a day; a day without failures forgets the earlier lockouts.
    pub const ACCOUNT: Policy = Policy {
        failures_before_lock: 5,
        window_s: 15 * 60,
        first_lock_s: 60,
        lock_growth: 2,
        lock_s_max: 24 * 60 * 60,
        forgive_after_s: 24 * 60 * 60,
    };

    /// Per client address: thirty failures within 15 minutes block it for 5 minutes, then 10, 20,
    /// 40, at most an hour. The threshold is high because many people can share one address
    /// (carrier NAT, offices). A day of memory is harmless even after an address changes hands,
    /// since growth only matters to someone who again fails thirty times in 15 minutes.
    pub const IP: Policy = Policy {
        failures_before_lock: 30,
        window_s: 15 * 60,
        first_lock_s: 5 * 60,
        lock_growth: 2,
        lock_s_max: 60 * 60,
        forgive_after_s: 24 * 60 * 60,
    };

    /// Per client address, for handing out passkey challenges to people not signed in: every
    /// challenge counts (each is a row kept for five minutes), not only failures. Sixty within a
    /// minute block the address for a minute, then 2, 4 … at most 15 minutes; far more than
    /// anyone signing in needs.
    pub const PASSKEY_CHALLENGES: Policy = Policy {
        failures_before_lock: 60,
        window_s: 60,
        first_lock_s: 60,
        lock_growth: 2,
        lock_s_max: 15 * 60,
        forgive_after_s: 60 * 60,
    };

    /// How long a lockout lasts when `earlier_lockouts` came before it (and were not forgiven).
    pub fn lock_s(&self, earlier_lockouts: u32) -> u64 {
        // A growth below 1 would make later locks shorter than earlier ones, which no policy
        // means; it is read as "no growth".
        let growth = u64::from(self.lock_growth.max(1));
        self.first_lock_s
            .saturating_mul(growth.saturating_pow(earlier_lockouts))
            .min(self.lock_s_max)
    }
}

/// The throttling state of one account or address; every field is a plain integer so that a
/// store can persist it as such. Times are Unix milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Throttle {
    /// Failures counted in the current window.
    pub failures: u32,
    /// When the current window's first failure happened; meaningless while `failures` is 0.
    pub window_started_ms: i64,
    /// Locked while the current time is before this; 0 when never locked.
    pub locked_until_ms: i64,
    /// Lockouts so far that have not been forgiven; they make the next lockout longer.
    pub lockouts: u32,
    /// When the last counted failure happened; 0 when there was none.
    pub last_failure_ms: i64,
}

impl Throttle {
    /// Seconds until the lock ends, rounded up so that a client told to wait that long is never
    /// early; `None` when not locked.
    pub fn locked_for_s(&self, now_ms: i64) -> Option<u64> {
        // `abs_diff` is exact for any two i64s, where a subtraction could overflow.
        (now_ms < self.locked_until_ms)
            .then(|| self.locked_until_ms.abs_diff(now_ms).div_ceil(1000))
    }

    /// Records a failed attempt at `now_ms`. Returns the lock's length in seconds exactly when
    /// this failure starts a lockout, and `None` otherwise (including while already locked).
    pub fn register_failure(&mut self, now_ms: i64, policy: &Policy) -> Option<u64> {
        if self.locked_for_s(now_ms).is_some() {
            // Ignored on purpose, so that hammering cannot prolong a lock (see the module docs).
            return None;
        }

        // Quiet time is counted from the end of the last lock, not from the failure that started
        // it: time spent locked out was enforced, not earned, and counting it would let a
        // day-long lock forgive itself the moment it ends.
        let quiet_since_ms = self.last_failure_ms.max(self.locked_until_ms);
        if now_ms.saturating_sub(quiet_since_ms) >= ms(policy.forgive_after_s) {
            self.lockouts = 0;
        }

        // A clock that went backwards gives a negative elapsed time, which stays inside the
        // window: counting a failure too many is the safe mistake.
        if self.failures == 0
            || now_ms.saturating_sub(self.window_started_ms) >= ms(policy.window_s)
        {
            self.failures = 0;
            self.window_started_ms = now_ms;
        }
        self.failures = self.failures.saturating_add(1);
        self.last_failure_ms = now_ms;
        if self.failures < policy.failures_before_lock {
            return None;
        }

        let locked_until_ms = now_ms.saturating_add(ms(policy.lock_s(self.lockouts)));
        if locked_until_ms <= now_ms {
            // A lock that ends before it starts is no lock: a policy with zero-second locks, or a
            // clock at the end of i64 time. The failures stay counted.
            return None;
        }
        self.locked_until_ms = locked_until_ms;
        self.lockouts = self.lockouts.saturating_add(1);
        // After the lock the count starts again from zero; `lockouts` is what remembers, and
        // makes the next lock longer.
        self.failures = 0;
        self.window_started_ms = 0;
        self.locked_for_s(now_ms)
    }

    /// Records a successful log-in: the current window's failures are cleared.
    ///
    /// `lockouts` and `last_failure_ms` are kept. A success proves that whoever typed it knew the
    /// password, not that the failures before it were that person's: an attacker who keeps
    /// guessing while the owner logs in every day would otherwise restart at the shortest lock
    /// each round. The history still fades on its own after `forgive_after_s` without failures,
    /// and for an address throttle one person's success says nothing about another's guesses
    /// from the same address. A running lock is kept too: the caller must not even check a
    /// password while locked, so a success here cannot be a reason to lift one.
    pub fn register_success(&mut self) {
        self.failures = 0;
        self.window_started_ms = 0;
    }
}

/// Seconds to milliseconds, saturating at the end of i64 time.
fn ms(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// 2026-01-01T00:00:00Z, an arbitrary realistic clock.
    const T0: i64 = 1_767_225_600_000;
    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;

    /// Fails `n` times one second apart from `now_ms`, returning the last answer and the time
    /// after the last failure.
    fn fail_n(now_ms: i64, t: &mut Throttle, n: u32, policy: &Policy) -> (Option<u64>, i64) {
        let mut answer = None;
        let mut now = now_ms;
        for i in 0..n {
            answer = t.register_failure(now, policy);
            assert!(
                i + 1 == n || answer.is_none(),
                "locked early, at failure {}",
                i + 1
            );
            now += 1000;
        }
        (answer, now)
    }

    #[test]
    fn policies_say_what_the_brief_says() {
        let a = Policy::ACCOUNT;
        assert_eq!((a.failures_before_lock, a.window_s), (5, 900));
        assert_eq!((a.lock_s(0), a.lock_s(1), a.lock_s(2)), (60, 120, 240));
        assert_eq!(a.lock_s(11), 86_400, "60·2^11 s is past a day");
        assert_eq!(a.lock_s(u32::MAX), 86_400);
        assert_eq!(a.forgive_after_s, 86_400);

        let ip = Policy::IP;
        assert_eq!((ip.failures_before_lock, ip.window_s), (30, 900));
        let locks: Vec<u64> = (0..6).map(|n| ip.lock_s(n)).collect();
        assert_eq!(locks, [300, 600, 1200, 2400, 3600, 3600]);
    }

    #[test]
    fn five_failures_in_the_window_lock_the_account_for_a_minute() {
        let mut t = Throttle::default();
        let (answer, _) = fail_n(T0, &mut t, 4, &Policy::ACCOUNT);
        assert_eq!(answer, None);
        assert_eq!(t.failures, 4);
        assert_eq!(t.locked_for_s(T0 + 4000), None);

        let locked_at = T0 + 4000;
        assert_eq!(t.register_failure(locked_at, &Policy::ACCOUNT), Some(60));
        assert_eq!(t.locked_for_s(locked_at), Some(60));
        assert_eq!(t.locked_for_s(locked_at + 1), Some(60), "rounded up");
        assert_eq!(t.locked_for_s(locked_at + 59_000), Some(1));
        assert_eq!(t.locked_for_s(locked_at + 59_999), Some(1), "rounded up");
        assert_eq!(t.locked_for_s(locked_at + 60_000), None);
        assert_eq!((t.failures, t.lockouts), (0, 1));
    }

    #[test]
    fn failures_outside_the_window_restart_the_count() {
        let p = Policy::ACCOUNT;
        let mut t = Throttle::default();
        fail_n(T0, &mut t, 4, &p);
        // The window runs 15 minutes from its first failure, at T0.
        assert_eq!(t.register_failure(T0 + 15 * MIN, &p), None);
        assert_eq!((t.failures, t.window_started_ms), (1, T0 + 15 * MIN));
        let (answer, _) = fail_n(T0 + 16 * MIN, &mut t, 3, &p);
        assert_eq!(answer, None, "four failures in the new window");
        assert_eq!(t.register_failure(T0 + 20 * MIN, &p), Some(60));

        // One millisecond before the window closes still counts.
        let mut t = Throttle::default();
        fail_n(T0, &mut t, 4, &p);
        assert_eq!(t.register_failure(T0 + 15 * MIN - 1, &p), Some(60));

        // Failures spread thinner than the window never lock.
        let mut t = Throttle::default();
        for i in 0..100 {
            assert_eq!(t.register_failure(T0 + i * 4 * MIN, &p), None);
        }
    }

    #[test]
    fn failures_while_locked_neither_count_nor_extend_the_lock() {
        let p = Policy::ACCOUNT;
        let mut t = Throttle::default();
        let (answer, now) = fail_n(T0, &mut t, 5, &p);
        assert_eq!(answer, Some(60));
        let locked = t;
        let until = t.locked_until_ms;
        // An attacker hammering every 10 ms for the whole minute changes nothing.
        let mut hammer = now;
        while hammer < until {
            assert_eq!(t.register_failure(hammer, &p), None);
            hammer += 10;
        }
        assert_eq!(t, locked);
        // The owner gets in as soon as the lock ends, and gets a full set of tries.
        assert_eq!(t.locked_for_s(until), None);
        let (answer, _) = fail_n(until, &mut t, 4, &p);
        assert_eq!(answer, None);
        t.register_success();
        assert_eq!(t.failures, 0);
    }

    #[test]
    fn each_lockout_after_a_lock_expires_is_longer_up_to_the_cap() {
        let p = Policy::ACCOUNT;
        let mut t = Throttle::default();
        let mut now = T0;
        let mut locks = Vec::new();
        for _ in 0..14 {
            // After each lock the count is back to zero: four failures do not lock again.
            let (answer, after) = fail_n(now, &mut t, 4, &p);
            assert_eq!(answer, None);
            let lock = t.register_failure(after, &p).expect("fifth failure locks");
            assert_eq!(t.locked_for_s(after), Some(lock));
            locks.push(lock);
            now = t.locked_until_ms;
        }
        assert_eq!(
            locks,
            [
                60, 120, 240, 480, 960, 1920, 3840, 7680, 15_360, 30_720, 61_440, 86_400, 86_400,
                86_400
            ]
        );
    }

    #[test]
    fn lockouts_are_forgiven_after_a_quiet_day_counted_from_the_lock_end() {
        let p = Policy::ACCOUNT;
        let lock_twice = || {
            let mut t = Throttle::default();
            fail_n(T0, &mut t, 5, &p);
            let (answer, _) = fail_n(t.locked_until_ms, &mut t, 5, &p);
            assert_eq!(answer, Some(120));
            t
        };

        // A day minus a millisecond after the lock ended: still remembered.
        let mut t = lock_twice();
        let (answer, _) = fail_n(t.locked_until_ms + DAY - 1, &mut t, 5, &p);
        assert_eq!(answer, Some(240));

        // A full quiet day: forgiven, the next lock is a first one.
        let mut t = lock_twice();
        let (answer, _) = fail_n(t.locked_until_ms + DAY, &mut t, 5, &p);
        assert_eq!(answer, Some(60));
        assert_eq!(t.lockouts, 1);

        // A day-long lock does not forgive itself: failing again right as it ends earns another
        // day, not a minute.
        let mut t = Throttle {
            lockouts: 11,
            last_failure_ms: T0 - 1000,
            ..Throttle::default()
        };
        let (answer, _) = fail_n(T0, &mut t, 5, &p);
        assert_eq!(answer, Some(86_400));
        let (answer, _) = fail_n(t.locked_until_ms, &mut t, 5, &p);
        assert_eq!(answer, Some(86_400));
    }

    #[test]
    fn a_success_clears_the_window_but_remembers_lockouts() {
        let p = Policy::ACCOUNT;
        let mut t = Throttle::default();
        let (_, now) = fail_n(T0, &mut t, 4, &p);
        t.register_success();
        assert_eq!((t.failures, t.window_started_ms), (0, 0));
        let (answer, now) = fail_n(now, &mut t, 4, &p);
        assert_eq!(answer, None, "the count restarted at the success");
        assert_eq!(t.register_failure(now, &p), Some(60));

        // The owner logs in after the lock; the attacker's next round still gets a longer lock.
        let now = t.locked_until_ms;
        t.register_success();
        assert_eq!(t.lockouts, 1);
        let (answer, _) = fail_n(now + HOUR, &mut t, 5, &p);
        assert_eq!(answer, Some(120));
    }

    #[test]
    fn the_address_policy_blocks_after_thirty_failures() {
        let p = Policy::IP;
        let mut t = Throttle::default();
        let (answer, now) = fail_n(T0, &mut t, 29, &p);
        assert_eq!(answer, None);
        assert_eq!(t.register_failure(now, &p), Some(300));
        let mut locks = vec![300];
        for _ in 0..5 {
            let (answer, _) = fail_n(t.locked_until_ms, &mut t, 30, &p);
            locks.push(answer.unwrap());
        }
        assert_eq!(locks, [300, 600, 1200, 2400, 3600, 3600]);
    }

    #[test]
    fn degenerate_policies_behave_sensibly() {
        // Locks of zero seconds never lock, and never claim to.
        let never = Policy {
            first_lock_s: 0,
            ..Policy::ACCOUNT
        };
        let mut t = Throttle::default();
        for i in 0..20 {
            assert_eq!(t.register_failure(T0 + i, &never), None);
        }
        assert_eq!(t.locked_for_s(T0 + 20), None);

        // Zero growth is no growth; zero failures allowed locks at the first failure.
        let strict = Policy {
            failures_before_lock: 0,
            lock_growth: 0,
            ..Policy::ACCOUNT
        };
        let mut t = Throttle::default();
        assert_eq!(t.register_failure(T0, &strict), Some(60));
        assert_eq!(t.register_failure(T0 + MIN, &strict), Some(60));
    }

    #[test]
    fn extreme_values_never_panic_or_overflow() {
        let times = [i64::MIN, i64::MIN + 1, -1, 0, 1, T0, i64::MAX - 1, i64::MAX];
        let counts = [0, 1, 4, 5, u32::MAX - 1, u32::MAX];
        let seconds = [0, 1, 60, u64::MAX / 1000, u64::MAX / 1000 + 1, u64::MAX];
        let mut policies = vec![Policy::ACCOUNT, Policy::IP];
        for &s in &seconds {
            for &c in &[0, 1, u32::MAX] {
                policies.push(Policy {
                    failures_before_lock: c,
                    window_s: s,
                    first_lock_s: s,
                    lock_growth: c,
                    lock_s_max: s,
                    forgive_after_s: s,
                });
            }
        }
        let mut checked = 0u32;
        for &failures in &counts {
            for &lockouts in &counts {
                for &stored in &times {
                    for &now in &times {
                        for policy in &policies {
                            let mut t = Throttle {
                                failures,
                                window_started_ms: stored,
                                locked_until_ms: stored,
                                lockouts,
                                last_failure_ms: stored,
                            };
                            let before = t;
                            let was_locked = t.locked_for_s(now);
                            let answer = t.register_failure(now, policy);
                            if was_locked.is_some() {
                                assert_eq!((answer, t), (None, before));
                            }
                            if let Some(lock_s) = answer {
                                assert!(lock_s > 0);
                                assert_eq!(t.locked_for_s(now), Some(lock_s));
                            }
                            t.register_success();
                            t.locked_for_s(now);
                            let _ = policy.lock_s(lockouts);
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 6 * 6 * 8 * 8 * 20);
    }

    /// Random attempt sequences against the account policy, checked against invariants that
    /// any correct throttle keeps. Seeded, so a failure reproduces.
    #[test]
    fn random_attempts_keep_the_invariants() {
        let p = Policy::ACCOUNT;
        for seed in 0..200 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut t = Throttle::default();
            let mut now = T0;
            let mut counted_in_window: Vec<i64> = Vec::new();
            for _ in 0..500 {
                now += match rng.gen_range(0..10) {
                    0..=5 => rng.gen_range(0..5_000),
                    6..=8 => rng.gen_range(0..20 * MIN),
                    _ => rng.gen_range(0..2 * DAY),
                };
                if rng.gen_bool(0.1) {
                    t.register_success();
                    counted_in_window.clear();
                    continue;
                }
                let before = t;
                let answer = t.register_failure(now, &p);
                if before.locked_for_s(now).is_some() {
                    assert_eq!((answer, t), (None, before), "seed {seed}");
                    continue;
                }
                if now - before.window_started_ms >= 15 * MIN || before.failures == 0 {
                    counted_in_window.clear();
                }
                counted_in_window.push(now);
                match answer {
                    Some(lock_s) => {
                        assert_eq!(counted_in_window.len(), 5, "seed {seed}");
                        assert!((60..=86_400).contains(&lock_s), "seed {seed}");
                        assert_eq!(t.locked_for_s(now), Some(lock_s), "seed {seed}");
                        let quiet_ms = now - before.last_failure_ms.max(before.locked_until_ms);
                        let expected = if quiet_ms >= DAY {
                            1
                        } else {
                            before.lockouts + 1
                        };
                        assert_eq!(t.lockouts, expected, "seed {seed}");
                        assert_eq!(lock_s, p.lock_s(expected - 1), "seed {seed}");
                        counted_in_window.clear();
                    }
                    None => {
                        assert!(counted_in_window.len() < 5, "seed {seed}");
                        assert_eq!(t.locked_for_s(now), None, "seed {seed}");
                        assert_eq!(t.failures as usize, counted_in_window.len());
                    }
                }
            }
        }
    }
}
