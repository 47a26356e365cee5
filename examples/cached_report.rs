//! A derived report, cached, recomputed only when what it read changes.
//!
//! A shop has products, each with a price and a stock level, and a list of
//! featured products. The report values the featured products' stock: it is
//! a `LazyCache`, computed on the first read and kept until a transaction
//! writes something the computation read. A count of the units in stock is
//! an `EagerCache`: recomputed by every transaction that changes a stock
//! level, so reading it never computes. The program prints how often each
//! one was computed.
//!
//! ```text
//! cargo run --example cached_report
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use steadfast::{atomically, thread_stats, EagerCache, LazyCache, StmResult, TVar, Transaction};

// ANCHOR: types
struct Product {
    name: &'static str,
    price: TVar<u64>,
    stock: TVar<u64>,
}

struct Shop {
    products: Vec<Product>,
    /// Indexes into `products`.
    featured: TVar<Vec<usize>>,
    report: LazyCache<Report>,
}

#[derive(Clone, Debug, PartialEq)]
struct Report {
    lines: Vec<String>,
    value: u64,
}
// ANCHOR_END: types

/// How many times the report was computed (to show the cache working).
static COMPUTED: AtomicUsize = AtomicUsize::new(0);

fn computed() -> usize {
    COMPUTED.load(Ordering::Relaxed)
}

/// Prints what just happened and how many computations there were so far.
fn step(what: &str) {
    println!("  {what:<54} {:>12}", computed());
}

// ANCHOR: report
impl Shop {
    /// The report on the featured products: the cached one if nothing it was
    /// computed from has been written since, otherwise a fresh one.
    fn report(&self, tx: &mut Transaction) -> StmResult<Report> {
        self.report.get(tx, |tx| {
            COMPUTED.fetch_add(1, Ordering::Relaxed);
            let mut report = Report {
                lines: Vec::new(),
                value: 0,
            };
            for &i in self.featured.read(tx)?.iter() {
                let product = &self.products[i];
                let (price, stock) = (product.price.read(tx)?, product.stock.read(tx)?);
                report.value += price * stock;
                report.lines.push(format!(
                    "{:<8} {stock:>3} x {price:>3} = {:>5}",
                    product.name,
                    price * stock
                ));
            }
            Ok(report)
        })
    }
}
// ANCHOR_END: report

// ANCHOR: units
impl Shop {
    /// Units in stock, all products together.
    fn units(&self, tx: &mut Transaction) -> StmResult<u64> {
        let mut units = 0;
        for product in &self.products {
            units += product.stock.read(tx)?;
        }
        Ok(units)
    }
}
// ANCHOR_END: units

fn product(name: &'static str, price: u64, stock: u64) -> Product {
    Product {
        name,
        price: TVar::new(price),
        stock: TVar::new(stock),
    }
}

fn main() {
    // ANCHOR: setup
    let shop = Arc::new(Shop {
        products: vec![
            product("flour", 3, 40),
            product("yeast", 2, 25),
            product("butter", 5, 12),
            product("salt", 1, 60),
        ],
        featured: TVar::new(vec![0, 2]),
        report: LazyCache::new(),
    });
    // Computed once now, then by every transaction that changes a stock
    // level, before that transaction's writes become visible.
    let units = atomically(|tx| EagerCache::new_owned(tx, &shop, |shop: &Shop, tx| shop.units(tx)));
    // ANCHOR_END: setup

    // ANCHOR: lazy
    let report = atomically(|tx| shop.report(tx));
    println!("Featured products:");
    for line in &report.lines {
        println!("  {line}");
    }
    println!("  total value {}\n", report.value);
    println!("  {:<54} {:>12}", "what happened", "computations");
    step("1. first read");

    atomically(|tx| shop.report(tx));
    step("2. second read");

    // Yeast is not featured: the report never read its stock.
    atomically(|tx| shop.products[1].stock.write(tx, 30));
    atomically(|tx| shop.report(tx));
    step("3. yeast (not featured) restocked, then a read");

    // Flour is featured: the report read its stock.
    atomically(|tx| shop.products[0].stock.modify(tx, |s| s - 5));
    atomically(|tx| shop.report(tx));
    step("4. flour (featured) sold, then a read");
    // ANCHOR_END: lazy

    // ANCHOR: own_writes
    // Inside a transaction that wrote an input, the report reflects that
    // transaction's own writes. It is computed privately and not stored:
    // nothing of a transaction is visible before it commits.
    let value = atomically(|tx| {
        shop.products[2].price.write(tx, 6)?;
        Ok(shop.report(tx)?.value)
    });
    assert_eq!(value, 35 * 3 + 12 * 6);
    step("5. butter repriced and read in one transaction");
    atomically(|tx| shop.report(tx));
    step("6. a read after that commit");
    // ANCHOR_END: own_writes

    // ANCHOR: threads
    // Four threads read the report 1000 times each while a fifth restocks
    // salt, which is not featured: no read has to compute.
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1000 {
                    atomically(|tx| shop.report(tx));
                }
            });
        }
        s.spawn(|| {
            for _ in 0..100 {
                atomically(|tx| shop.products[3].stock.modify(tx, |s| s + 1));
            }
        });
    });
    step("7. 4000 reads on 4 threads during 100 salt deliveries");

    // Featuring salt changes the list the report read.
    atomically(|tx| shop.featured.write(tx, vec![0, 2, 3]));
    let report = atomically(|tx| shop.report(tx));
    assert_eq!(report.lines.len(), 3);
    step("8. salt featured, then a read");
    // ANCHOR_END: threads

    // ANCHOR: eager
    let before = thread_stats();
    for _ in 0..1000 {
        atomically(|tx| units.get(tx));
    }
    atomically(|tx| shop.products[1].stock.modify(tx, |s| s - 1));
    atomically(|tx| shop.products[2].price.write(tx, 7)); // `units` never read a price
    let runs = (thread_stats() - before).eager_runs;
    println!(
        "\nUnits in stock (eager): {}. 1000 reads, one stock change and one price \
         change: recomputations {runs}.",
        atomically(|tx| units.get(tx)),
    );
    // ANCHOR_END: eager
    assert_eq!(runs, 1);
    assert_eq!(
        atomically(|tx| units.get(tx)),
        atomically(|tx| shop.units(tx))
    );
    assert_eq!(computed(), 5);
}
