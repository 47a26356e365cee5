use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Segment {
    ends: (i64, i64),
}

#[methods]
impl Segment {
    #[cache_lazy]
    fn length(&(start, end): &(i64, i64)) -> i64 {
        end - start
    }
}

fn main() {}
