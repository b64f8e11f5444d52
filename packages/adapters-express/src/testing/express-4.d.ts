// Express 4, installed as the `express-4` alias for the compatibility tests. Its API is the subset the
// tests use, which Express 5's types describe.
declare module 'express-4' {
  import express from 'express';
  export default express;
}
