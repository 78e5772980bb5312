// Audio thread side of the recorder: copies each block of the first input channel to the page.
class GSVRecorder extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel && channel.length) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor('gsv-recorder', GSVRecorder);
