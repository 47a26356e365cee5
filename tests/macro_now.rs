//! `#[cache_now]`: computed by the factory and recomputed before the commit of
//! every transaction that wrote what it read; reading never computes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use steadfast::{abort, atomically, methods, thread_stats, try_atomically};
use steadfast::{StmResult, Transaction, Transactional};

#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tier {
    Low,
    High,
}

#[derive(Clone, Transactional)]
struct Account {
    owner: String,
    balance: i64,
    calls: Calls,
}

#[methods]
impl Account {
    #[cache_now]
    fn tier(balance: &i64, calls: &Calls) -> Tier {
        calls.hit();
        if *balance >= 100 {
            Tier::High
        } else {
            Tier::Low
        }
    }
}

fn account(balance: i64) -> (TAccount, Calls) {
    let calls = Calls::default();
    let acc = TAccount::new(Account {
        owner: "ann".into(),
        balance,
        calls: calls.clone(),
    })
    .unwrap();
    (acc, calls)
}

#[test]
fn the_factory_computes_and_reading_never_does() {
    let (acc, calls) = account(150);
    let built = calls.count();
    assert_eq!(built, 1, "computed once, by the factory");
    let before = thread_stats();
    for _ in 0..100 {
        assert_eq!(atomically(|tx| acc.tier(tx)), Tier::High);
    }
    assert_eq!(calls.count(), built);
    assert_eq!((thread_stats() - before).eager_runs, 0);
}

#[test]
fn a_commit_that_writes_an_input_recomputes_once_before_it_is_visible() {
    let (acc, calls) = account(150);
    let built = calls.count();
    atomically(|tx| {
        acc.set_balance(tx, 10)?;
        acc.set_balance(tx, 20)?;
        acc.set_balance(tx, 30)
    });
    assert_eq!(calls.count(), built + 1, "once per committing transaction");
    assert_eq!(atomically(|tx| acc.tier(tx)), Tier::Low);
    assert_eq!(
        calls.count(),
        built + 1,
        "the new value was stored at commit"
    );

    atomically(|tx| acc.set_owner(tx, "bob".into()));
    assert_eq!(calls.count(), built + 1, "owner is not an input");
}

#[test]
fn inside_the_writing_transaction_the_value_is_fresh() {
    let (acc, _calls) = account(150);
    let seen = atomically(|tx| {
        acc.set_balance(tx, 5)?;
        acc.tier(tx)
    });
    assert_eq!(seen, Tier::Low);
}

#[test]
fn an_aborted_transaction_leaves_the_value_alone() {
    let (acc, calls) = account(150);
    let built = calls.count();
    let r = try_atomically(|tx| {
        acc.set_balance(tx, 5)?;
        abort::<(), _>(())
    });
    assert!(r.is_err());
    assert_eq!(atomically(|tx| acc.tier(tx)), Tier::High);
    assert_eq!(
        calls.count(),
        built,
        "nothing committed: nothing recomputed"
    );
}

#[test]
fn readers_always_see_the_value_of_the_balance_they_read() {
    let (acc, calls) = account(0);
    let built = calls.count();
    let writer = {
        let acc = acc.clone();
        thread::spawn(move || {
            let before = thread_stats();
            for i in 0..3_000 {
                atomically(|tx| acc.set_balance(tx, (i * 37) % 200));
            }
            thread_stats() - before
        })
    };
    let before = thread_stats();
    let mut reads = 0;
    while !writer.is_finished() || reads < 500 {
        let (balance, tier) = atomically(|tx| Ok((acc.balance(tx)?, acc.tier(tx)?)));
        let expected = if balance >= 100 {
            Tier::High
        } else {
            Tier::Low
        };
        assert_eq!(tier, expected, "balance {balance}");
        reads += 1;
    }
    assert_eq!(
        (thread_stats() - before).eager_runs,
        0,
        "reading never computes"
    );
    let wrote = writer.join().unwrap();
    assert_eq!(wrote.commits, 3_000);
    // Each commit recomputes once; an attempt that had to start over (when a
    // reader that kept losing ran alone) recomputed too.
    assert!(wrote.eager_runs >= 3_000);
    assert_eq!(calls.count(), built + wrote.eager_runs as usize);
}

// ---- deep reads -----------------------------------------------------------------------

#[derive(Clone, Transactional)]
struct Item {
    price: u32,
    qty: u32,
}

#[derive(Clone, Transactional)]
struct Order {
    items: Vec<TItem>,
    calls: Calls,
}

#[methods]
impl Order {
    #[cache_now]
    fn total(items: &[TItem], calls: &Calls, tx: &mut Transaction) -> StmResult<u32> {
        calls.hit();
        let mut total = 0;
        for item in items {
            total += item.price(tx)? * item.qty(tx)?;
        }
        Ok(total)
    }
}

#[test]
fn a_write_to_another_object_it_read_recomputes_it() {
    let a = TItem::new(Item { price: 3, qty: 2 }).unwrap();
    let b = TItem::new(Item { price: 10, qty: 1 }).unwrap();
    let calls = Calls::default();
    let order = TOrder::new(Order {
        items: vec![a.clone(), b.clone()],
        calls: calls.clone(),
    })
    .unwrap();
    let built = calls.count();
    assert_eq!(atomically(|tx| order.total(tx)), 16);
    atomically(|tx| b.set_qty(tx, 4));
    assert_eq!(calls.count(), built + 1, "recomputed at the item's commit");
    assert_eq!(atomically(|tx| order.total(tx)), 46);
    assert_eq!(calls.count(), built + 1);
    // Two items changed in one transaction: one recomputation.
    atomically(|tx| {
        a.set_price(tx, 1)?;
        b.set_price(tx, 1)
    });
    assert_eq!(calls.count(), built + 2);
    assert_eq!(atomically(|tx| order.total(tx)), 6);
}
