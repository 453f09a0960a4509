/** Imports every provider so it registers itself. Scripts import this file once. */
import "./tesla/mod.ts";
import "./volvo/mod.ts";
