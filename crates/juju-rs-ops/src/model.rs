//! The typed, cached view of the Juju model over hook tools. (Being written.)
use crate::event::Event;
use crate::tools::ToolRunner;

pub struct Model {
    runner: Box<dyn ToolRunner>,
}

impl Model {
    pub fn new(runner: Box<dyn ToolRunner>, _event: &Event) -> Model {
        Model { runner }
    }
}
