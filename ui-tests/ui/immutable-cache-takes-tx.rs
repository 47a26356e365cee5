use steadfast::{methods, Immutable, StmResult, Transaction};

#[derive(Immutable)]
struct Point {
    x: f64,
}

#[methods(immutable)]
impl Point {
    #[cache_lazy]
    fn doubled(&self, tx: &mut Transaction) -> StmResult<f64> {
        let _ = tx;
        Ok(self.x * 2.0)
    }
}

fn main() {}
