//! Waiting politely: short spins first, then yielding the core.

/// One step of a spin-then-yield wait; `step` counts calls.
#[inline]
pub(crate) fn spin(step: &mut u32) {
    if *step < 6 {
        for _ in 0..(1u32 << *step) {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
    *step = step.saturating_add(1);
}

/// Exponential back-off after a conflict: `attempt` counts failed attempts.
/// Randomised so two transactions that collided do not collide again in step.
pub(crate) fn after_conflict(attempt: u32, seed: &mut u64) {
    // xorshift64*: cheap, good enough to de-synchronise threads.
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    let cap = 1u64 << attempt.min(12);
    let spins = (*seed % cap) + 1;
    if attempt > 12 {
        std::thread::yield_now();
    }
    for _ in 0..spins {
        std::hint::spin_loop();
    }
}
