/// A greeting, so the sample has something to build and test.
pub fn greet(name: &str) -> String {
    format!("hello, {name}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn greets() {
        assert_eq!(super::greet("spark"), "hello, spark");
    }
}
