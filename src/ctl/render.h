/* render.h - otpctl's human output of a command's reply data (render.c). */
#ifndef OTP_CTL_RENDER_H
#define OTP_CTL_RENDER_H

#include <jansson.h>
#include <stdio.h>

/* Prints the data of command cmd's successful reply to f (and a note to
 * stderr where one is due). */
void otp_ctl_render(const char *cmd, json_t *data, FILE *f);

#endif
