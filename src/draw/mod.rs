//! Net drawings, as Caffe's draw_net.py makes them but with no Graphviz or
//! Python: the diagram of a shaped net ([`diagram`]), laid out and drawn as SVG
//! or PNG ([`render`]).

pub mod canvas;
pub mod diagram;
pub mod render;
