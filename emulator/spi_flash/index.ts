/** spi_flash: the NOR flash model (erase to 0xFF, program clears bits, write log, power-loss and bit-flip injection). */
export * from "./flash.js";
