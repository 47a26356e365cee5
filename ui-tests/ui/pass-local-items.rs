//! A transactional struct and its methods declared inside a function, with
//! a field type that is itself local to the function.
use steadfast::{atomically, methods, Transactional};

fn main() {
    #[derive(Clone, Debug, PartialEq)]
    struct Celsius(f64);

    #[derive(Transactional)]
    struct Thermometer {
        reading: Celsius,
    }

    #[methods]
    impl Thermometer {
        #[cache_now]
        fn fahrenheit(reading: &Celsius) -> f64 {
            reading.0 * 9.0 / 5.0 + 32.0
        }
    }

    let t = TThermometer::new(Thermometer { reading: Celsius(100.0) }).unwrap();
    assert_eq!(atomically(|tx| t.fahrenheit(tx)), 212.0);
}
