//! Objects that hold other objects: orders over shared items.
//!
//! An item knows nothing about the orders that contain it. Each order keeps
//! its total up to date (`#[cache_now]`) and guards its budget
//! (`#[invariant]`) by reading *through* its items' handles. Those reads are
//! tracked like field reads, so a change to an item's price recomputes the
//! totals of exactly the orders that hold it, and is refused if it would
//! push one of them over budget.
//!
//! ```text
//! cargo run --example composing
//! ```

use steadfast::{atomically, atomically_or_failure, methods, stats, Transactional};
use steadfast::{BuildError, StmResult, Transaction};

// ANCHOR: types
#[derive(Clone, Debug, Transactional)]
struct Item {
    name: String,
    price: u32,
}

/// A plain value: it holds a handle, so copies of a line share the item.
#[derive(Clone, Debug)]
struct Line {
    item: TItem,
    quantity: u32,
}

#[derive(Clone, Debug, Transactional)]
struct Order {
    customer: String,
    lines: Vec<Line>,
    budget: u32,
}

#[methods]
impl Order {
    /// Reads each line's item through its handle: a deep read, so it
    /// depends on those items' prices as well as on `lines`.
    #[cache_now]
    fn total(lines: &[Line], tx: &mut Transaction) -> StmResult<u32> {
        let mut total = 0;
        for line in lines {
            total += line.item.price(tx)? * line.quantity;
        }
        Ok(total)
    }

    #[invariant]
    fn within_budget(
        lines: &[Line],
        budget: &u32,
        tx: &mut Transaction,
    ) -> StmResult<Result<(), String>> {
        let total = Order::total(lines, tx)?;
        Ok(match total <= *budget {
            true => Ok(()),
            false => Err(format!("total {total} is over the budget of {budget}")),
        })
    }
}
// ANCHOR_END: types

fn main() -> Result<(), BuildError> {
    // ANCHOR: build
    let flour = TItem::new(Item {
        name: "flour".into(),
        price: 3,
    })?;
    let butter = TItem::new(Item {
        name: "butter".into(),
        price: 5,
    })?;
    let salt = TItem::new(Item {
        name: "salt".into(),
        price: 1,
    })?;

    let line = |item: &TItem, quantity| Line {
        item: item.clone(),
        quantity,
    };
    let ann = TOrder::new(Order {
        customer: "ann".into(),
        lines: vec![line(&flour, 10), line(&butter, 2)],
        budget: 50,
    })?;
    let bob = TOrder::new(Order {
        customer: "bob".into(),
        lines: vec![line(&butter, 4), line(&salt, 3)],
        budget: 30,
    })?;
    // ANCHOR_END: build
    let show = |when: &str| {
        let (a, b) = atomically(|tx| Ok((ann.total(tx)?, bob.total(tx)?)));
        println!("{when:<34} ann's total {a:>3} (budget 50), bob's total {b:>3} (budget 30)");
    };
    show("at first:");

    // ANCHOR: changes
    // Salt is only in bob's order: one total recomputed, one budget checked.
    let before = stats();
    atomically(|tx| salt.set_price(tx, 2));
    let runs = stats() - before;
    show("salt 1 -> 2:");
    println!(
        "  totals recomputed: {}, budgets checked: {}",
        runs.eager_runs, runs.invariant_runs
    );

    // Butter is in both orders: both totals recomputed, both budgets checked.
    let before = stats();
    atomically(|tx| butter.set_price(tx, 6));
    let runs = stats() - before;
    show("butter 5 -> 6:");
    println!(
        "  totals recomputed: {}, budgets checked: {}",
        runs.eager_runs, runs.invariant_runs
    );

    // Butter at 7 would put bob over budget: refused, and nothing changes.
    let raise = atomically_or_failure(|tx| butter.set_price(tx, 7));
    println!("butter 6 -> 7: refused: {}", raise.unwrap_err());
    show("after the refusal:");

    // One transaction may change several objects; the invariants judge the
    // end result. Bob drops the salt and butter goes up: within budget.
    atomically(|tx| {
        butter.set_price(tx, 7)?;
        bob.modify_lines(tx, |lines| {
            lines
                .into_iter()
                .filter(|l| !l.item.ptr_eq(&salt))
                .collect()
        })
    });
    show("bob drops salt, butter 6 -> 7:");
    // ANCHOR_END: changes

    let lines = atomically(|tx| {
        let mut lines = Vec::new();
        for line in bob.lines(tx)? {
            lines.push(format!("{} x{}", line.item.name(tx)?, line.quantity));
        }
        Ok(lines)
    });
    println!("\nbob's order now: {}", lines.join(", "));
    Ok(())
}
