// (being written: see the exposure design)
export {};
