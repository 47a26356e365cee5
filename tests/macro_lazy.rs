//! `#[cache_lazy]`: computed on first call, answered from the object until a
//! committed write to something it read (fields and deep reads), never stale
//! inside the writing transaction, errors and panics not cached. Each object
//! counts its own computations in a `Calls` field, so tests running in
//! parallel do not disturb each other.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use steadfast::{abort, atomically, atomically_or_failure, methods, thread_stats, try_atomically};
use steadfast::{StmResult, Transaction, Transactional};

/// Counts calls of the functions that receive it.
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

#[derive(Clone, Transactional)]
struct Doc {
    title: String,
    words: Vec<String>,
    calls: Calls,
    /// Makes `shouting` panic while set.
    explode: bool,
}

#[methods]
impl Doc {
    #[cache_lazy]
    fn word_count(words: &[String], calls: &Calls) -> usize {
        calls.hit();
        words.len()
    }

    /// Only `Ok` is cached.
    #[cache_lazy]
    fn first_word(words: &[String], calls: &Calls) -> Result<String, String> {
        calls.hit();
        words.first().cloned().ok_or_else(|| "no words".to_string())
    }

    #[cache_lazy]
    fn shouting(title: &str, explode: &bool, calls: &Calls) -> String {
        calls.hit();
        assert!(!*explode, "boom");
        title.to_uppercase()
    }
}

fn doc(words: &[&str]) -> (TDoc, Calls) {
    let calls = Calls::default();
    let d = TDoc::new(Doc {
        title: "title".into(),
        words: words.iter().map(|w| w.to_string()).collect(),
        calls: calls.clone(),
        explode: false,
    })
    .unwrap();
    (d, calls)
}

#[test]
fn the_first_call_computes_and_later_calls_are_hits() {
    let (d, calls) = doc(&["a", "b", "c"]);
    assert_eq!(calls.count(), 0, "lazy: the factory computes nothing");
    let before = thread_stats();
    for _ in 0..100 {
        assert_eq!(atomically(|tx| d.word_count(tx)), 3);
    }
    let after = thread_stats();
    assert_eq!(calls.count(), 1);
    assert_eq!(after.cache_misses - before.cache_misses, 1);
    assert_eq!(after.cache_hits - before.cache_hits, 99);
}

#[test]
fn a_write_to_an_input_invalidates_and_other_writes_do_not() {
    let (d, calls) = doc(&["a"]);
    assert_eq!(atomically(|tx| d.word_count(tx)), 1);
    atomically(|tx| d.set_title(tx, "other".into()));
    assert_eq!(atomically(|tx| d.word_count(tx)), 1);
    assert_eq!(calls.count(), 1, "title is not an input of word_count");

    atomically(|tx| {
        d.modify_words(tx, |mut w| {
            w.push("b".into());
            w
        })
    });
    assert_eq!(atomically(|tx| d.word_count(tx)), 2);
    assert_eq!(calls.count(), 2);
    assert_eq!(atomically(|tx| d.word_count(tx)), 2);
    assert_eq!(calls.count(), 2, "cached again after the recomputation");
}

#[test]
fn never_stale_inside_the_transaction_that_wrote_an_input() {
    let (d, _calls) = doc(&["a"]);
    assert_eq!(atomically(|tx| d.word_count(tx)), 1); // cached
    let seen = atomically(|tx| {
        let before = d.word_count(tx)?;
        d.set_words(tx, vec!["x".into(), "y".into(), "z".into()])?;
        let after = d.word_count(tx)?;
        Ok((before, after))
    });
    assert_eq!(seen, (1, 3));
    assert_eq!(atomically(|tx| d.word_count(tx)), 3);

    // A transaction that wrote, read, then aborted leaves no trace.
    let r = try_atomically(|tx| {
        d.set_words(tx, vec![])?;
        assert_eq!(d.word_count(tx)?, 0);
        abort::<(), _>(())
    });
    assert!(r.is_err());
    assert_eq!(atomically(|tx| d.word_count(tx)), 3);
}

#[test]
fn errors_are_not_cached_but_values_are() {
    let (d, calls) = doc(&[]);
    for round in 1..=3 {
        assert_eq!(atomically(|tx| d.first_word(tx)), Err("no words".into()));
        assert_eq!(calls.count(), round, "each call recomputes after an error");
    }
    atomically(|tx| d.set_words(tx, vec!["hello".into()]));
    assert_eq!(atomically(|tx| d.first_word(tx)), Ok("hello".into()));
    assert_eq!(atomically(|tx| d.first_word(tx)), Ok("hello".into()));
    assert_eq!(calls.count(), 4, "the Ok value was cached");
}

#[test]
fn panics_are_not_cached() {
    let (d, calls) = doc(&[]);
    atomically(|tx| d.set_explode(tx, true));
    for round in 1..=2 {
        let r = catch_unwind(AssertUnwindSafe(|| atomically(|tx| d.shouting(tx))));
        assert!(r.is_err());
        assert_eq!(calls.count(), round);
    }
    atomically(|tx| d.set_explode(tx, false));
    assert_eq!(atomically(|tx| d.shouting(tx)), "TITLE");
    assert_eq!(atomically(|tx| d.shouting(tx)), "TITLE");
    assert_eq!(calls.count(), 3);
}

// ---- deep reads: objects holding objects ----------------------------------------------

#[derive(Clone, Transactional)]
struct Book {
    pages: u32,
}

#[derive(Clone, Transactional)]
struct Shelf {
    books: Vec<TBook>,
    calls: Calls,
}

#[methods]
impl Shelf {
    /// Reads through the book handles: each book's `pages` is a dependency.
    #[cache_lazy]
    fn total_pages(books: &[TBook], calls: &Calls, tx: &mut Transaction) -> StmResult<u32> {
        calls.hit();
        let mut total = 0;
        for book in books {
            total += book.pages(tx)?;
        }
        Ok(total)
    }
}

#[test]
fn deep_reads_invalidate_like_fields() {
    let books: Vec<TBook> = (1..=3)
        .map(|p| TBook::new(Book { pages: p * 100 }).unwrap())
        .collect();
    let elsewhere = TBook::new(Book { pages: 1 }).unwrap();
    let calls = Calls::default();
    let shelf = TShelf::new(Shelf {
        books: books.clone(),
        calls: calls.clone(),
    })
    .unwrap();
    assert_eq!(atomically(|tx| shelf.total_pages(tx)), 600);
    atomically(|tx| elsewhere.set_pages(tx, 5));
    assert_eq!(atomically(|tx| shelf.total_pages(tx)), 600);
    assert_eq!(calls.count(), 1, "a book not on the shelf is not an input");

    atomically(|tx| books[1].set_pages(tx, 250));
    assert_eq!(atomically(|tx| shelf.total_pages(tx)), 650);
    assert_eq!(calls.count(), 2, "a book on the shelf is an input");

    // Changing which books are on the shelf changes the inputs too.
    atomically(|tx| {
        shelf.modify_books(tx, |mut b| {
            b.push(elsewhere.clone());
            b
        })
    });
    assert_eq!(atomically(|tx| shelf.total_pages(tx)), 655);
    atomically(|tx| elsewhere.set_pages(tx, 10));
    assert_eq!(atomically(|tx| shelf.total_pages(tx)), 660);
    assert_eq!(calls.count(), 4);
}

// ---- across threads -----------------------------------------------------------------------

#[derive(Clone, Transactional)]
struct Pair {
    x: u64,
    y: u64,
    x_calls: Calls,
    y_calls: Calls,
}

#[methods]
impl Pair {
    #[cache_lazy]
    fn x_squared(x: &u64, x_calls: &Calls) -> u64 {
        x_calls.hit();
        x * x
    }

    #[cache_lazy]
    fn y_doubled(y: &u64, y_calls: &Calls) -> u64 {
        y_calls.hit();
        y * 2
    }
}

#[test]
fn another_threads_writes_are_seen_and_untouched_inputs_are_never_recomputed() {
    const WRITES: u64 = 2_000;
    let (x_calls, y_calls) = (Calls::default(), Calls::default());
    let pair = TPair::new(Pair {
        x: 0,
        y: 21,
        x_calls: x_calls.clone(),
        y_calls: y_calls.clone(),
    })
    .unwrap();
    // Both filled once before the race starts, so however the threads are
    // scheduled, x's later writes must force at least one recomputation.
    assert_eq!(atomically(|tx| pair.y_doubled(tx)), 42);
    assert_eq!(atomically(|tx| pair.x_squared(tx)), 0);
    assert_eq!(x_calls.count(), 1);
    let start = Arc::new(Barrier::new(3));
    let done = Arc::new(AtomicBool::new(false));

    let writer = {
        let (pair, start) = (pair.clone(), start.clone());
        thread::spawn(move || {
            start.wait();
            for i in 1..=WRITES {
                atomically(|tx| pair.set_x(tx, i));
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (pair, start, done) = (pair.clone(), start.clone(), done.clone());
            thread::spawn(move || {
                start.wait();
                let (mut reads, mut last_x) = (0u64, 0u64);
                let before = thread_stats();
                while !done.load(Ordering::SeqCst) || reads < 1_000 {
                    let (x, sq, dbl) = atomically(|tx| {
                        Ok((pair.x(tx)?, pair.x_squared(tx)?, pair.y_doubled(tx)?))
                    });
                    assert_eq!(sq, x * x, "the cache matches the field in one snapshot");
                    assert_eq!(dbl, 42);
                    assert!(x >= last_x, "time does not run backwards");
                    last_x = x;
                    reads += 1;
                }
                (thread_stats() - before).cache_hits
            })
        })
        .collect();
    writer.join().unwrap();
    done.store(true, Ordering::SeqCst);
    for r in readers {
        let hits = r.join().unwrap();
        assert!(
            hits >= 1_000,
            "y_doubled alone was answered from the cache: {hits}"
        );
    }
    assert_eq!(atomically(|tx| pair.x_squared(tx)), WRITES * WRITES);
    assert_eq!(y_calls.count(), 1, "y never changed: never recomputed");
    assert!(x_calls.count() >= 2, "x changed: recomputed");
}

/// A field value that counts its copies.
#[derive(Default)]
struct Pages {
    texts: Vec<String>,
    copies: Calls,
}

impl Clone for Pages {
    fn clone(&self) -> Self {
        self.copies.hit();
        Pages {
            texts: self.texts.clone(),
            copies: self.copies.clone(),
        }
    }
}

#[derive(Clone, Transactional)]
struct Album {
    pages: Pages,
    title: String,
}

#[methods]
impl Album {
    #[cache_lazy]
    fn longest(pages: &Pages) -> usize {
        pages.texts.iter().map(String::len).max().unwrap_or(0)
    }

    #[cache_now]
    fn count(pages: &Pages) -> usize {
        pages.texts.len()
    }

    #[invariant]
    fn not_empty(pages: &Pages) -> bool {
        !pages.texts.is_empty()
    }

    #[cache_lazy]
    fn cover(title: &str, pages: &Pages) -> String {
        format!("{title} ({} pages)", pages.texts.len())
    }
}

#[test]
fn computations_over_one_field_borrow_it_instead_of_copying_it() {
    let copies = Calls::default();
    let album = TAlbum::new(Album {
        pages: Pages {
            texts: vec!["a".into(), "bcd".into()],
            copies: copies.clone(),
        },
        title: "Tales".into(),
    })
    .unwrap();
    // The factory checked the invariant and computed `count`: no copies.
    assert_eq!(copies.count(), 0);
    assert_eq!(atomically(|tx| album.longest(tx)), 3);
    assert_eq!(atomically(|tx| album.count(tx)), 2);
    assert_eq!(copies.count(), 0, "one-field computations borrow the field");
    // Writing `pages` reruns the invariant and `count`, and the next
    // `longest` recomputes: still no copies beyond the write's own.
    let more = Pages {
        texts: vec!["a".into(), "bcd".into(), "efghi".into()],
        copies: copies.clone(),
    };
    atomically(|tx| album.set_pages(tx, more.clone()));
    let after_write = copies.count();
    assert_eq!(atomically(|tx| album.longest(tx)), 5);
    assert_eq!(atomically(|tx| album.count(tx)), 3);
    assert_eq!(copies.count(), after_write);
    // A computation over two fields still reads (copies) them.
    assert_eq!(atomically(|tx| album.cover(tx)), "Tales (3 pages)");
    assert_eq!(copies.count(), after_write + 1);
    // And the invariant still guards the field.
    let r = atomically_or_failure(|tx| album.set_pages(tx, Pages::default()));
    assert!(r.unwrap_err().invariant_violation().is_some());
}
